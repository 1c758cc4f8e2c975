// The semantic colours of the console, in one place for the renderer (as CSS variables, set at
// start-up) and for the engine (the box drawn into stored snapshots), so a snapshot's green is the
// console's green. One colour = one meaning: green match, amber needs review, grey unknown,
// red offline.
import type { Band } from './types'

export const BAND_HEX: Readonly<Record<Band, string>> = {
  match: '#3fb950',
  review: '#e3a008',
  unknown: '#8b949e'
}
export const OFFLINE_HEX = '#f85149'

/** '#rrggbb' → [r, g, b] */
export function hexToRgb(hex: string): [number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex)
  if (!m) throw new Error(`not a #rrggbb colour: ${hex}`)
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)]
}

/** Tinted backgrounds behind a coloured chip use the same hue at this opacity. */
const BG_ALPHA = 0.14

/** The CSS custom properties theme.css refers to (--c-match, --c-match-bg, …). */
export function semanticCssVariables(): Record<string, string> {
  const out: Record<string, string> = {}
  const all: [string, string][] = [...Object.entries(BAND_HEX), ['offline', OFFLINE_HEX]]
  for (const [name, hex] of all) {
    out[`--c-${name}`] = hex
    out[`--c-${name}-bg`] = `rgba(${hexToRgb(hex).join(', ')}, ${BG_ALPHA})`
  }
  return out
}
