import type { Band, CameraState } from '@shared/types'

export const BAND_LABEL: Record<Band, string> = {
  match: 'Match',
  review: 'Needs review',
  unknown: 'Unknown'
}

/** CSS variable per band: the single source of band colours (see styles/theme.css). */
export const BAND_COLOR: Record<Band, string> = {
  match: 'var(--c-match)',
  review: 'var(--c-review)',
  unknown: 'var(--c-unknown)'
}

export { bandOf } from '@shared/band'

export const CAMERA_STATE_LABEL: Record<CameraState, string> = {
  disabled: 'disabled',
  connecting: 'connecting',
  online: 'online',
  offline: 'offline',
  error: 'error'
}

/** Only trouble gets a colour (red); a healthy camera stays neutral so green keeps meaning "match". */
export const CAMERA_STATE_CHIP: Record<CameraState, string> = {
  disabled: 'chip-neutral',
  connecting: 'chip-neutral',
  online: 'chip-neutral',
  offline: 'chip-offline',
  error: 'chip-offline'
}
