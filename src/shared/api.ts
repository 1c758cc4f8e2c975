// The one API contract between the engine (main process or browser-mode server) and the console.
// Electron IPC, the preload bridge, the WebSocket server and the renderer client are all typed
// from ApiSpec and PushSpec; adding an operation here makes every side fail to compile until done.
import type {
  AlertRecord,
  AlertRule,
  AlertRuleInput,
  AlertTargetInput,
  AlertTargetView,
  Band,
  CameraConfig,
  CameraTestResult,
  CameraView,
  DeliveryRecord,
  EnrolResult,
  EventQuery,
  EventRecord,
  EventStats,
  FrameOverlay,
  Page,
  Person,
  PreviewFrame,
  VideoFrame,
  ReviewAction,
  ReviewItem,
  ReviewStatus,
  Settings,
  SystemInfo
} from './types'

export interface PersonInput {
  name: string
  notes?: string
  threshold?: number | null
}

export interface AddPhotoInput {
  personId: string
  fileName: string
  /** image bytes, base64 (JSON-safe over both IPC and WebSocket) */
  dataBase64: string
  /** with several faces in the photo, which one (index into the faces of the error answer) */
  faceIndex?: number
}

export type CameraInput = Omit<
  CameraConfig,
  | 'id'
  | 'detectFps'
  | 'maxDetectWidth'
  | 'minFaceSize'
  | 'loop'
  | 'enabled'
  | 'important'
  | 'hwaccel'
  | 'keyframesOnly'
  | 'detectTiles'
> &
  Partial<
    Pick<
      CameraConfig,
      | 'detectFps'
      | 'maxDetectWidth'
      | 'minFaceSize'
      | 'loop'
      | 'enabled'
      | 'important'
      | 'hwaccel'
      | 'keyframesOnly'
      | 'detectTiles'
    >
  >

export interface DecideInput {
  itemId: string
  /** the version the operator saw; a mismatch answers with a 'conflict' error */
  version: number
  action: ReviewAction
  operator: string
  /** reassign: the other person */
  personId?: string
  /** newPerson: name of the person to create */
  newPersonName?: string
  /** confirm/reassign/newPerson: add the crop to the person's references when its quality passes */
  addToGallery?: boolean
}

export interface ApiSpec {
  'system.info': { req: void; res: SystemInfo }

  'people.list': { req: void; res: Person[] }
  'people.create': { req: PersonInput; res: Person }
  'people.update': { req: { id: string } & Partial<PersonInput>; res: Person }
  'people.delete': { req: { id: string }; res: { deleted: true } }
  'people.addPhoto': { req: AddPhotoInput; res: EnrolResult }
  'people.removePhoto': { req: { personId: string; photoId: string }; res: Person }

  'cameras.list': { req: void; res: CameraView[] }
  'cameras.create': { req: CameraInput; res: CameraView }
  'cameras.update': { req: { id: string } & Partial<CameraInput>; res: CameraView }
  'cameras.delete': { req: { id: string }; res: { deleted: true } }
  'cameras.test': { req: { url: string }; res: CameraTestResult }
  /**
   * The page shows this camera enlarged: stream its view as live video (a lease, renewed every few
   * seconds while focused; the remux stops soon after the last renewal)
   */
  'cameras.focus': { req: { id: string }; res: { streaming: boolean } }

  'review.list': { req: { status?: ReviewStatus }; res: ReviewItem[] }
  'review.decide': { req: DecideInput; res: ReviewItem }
  'review.undo': { req: { itemId: string; operator: string }; res: ReviewItem }

  'events.query': { req: EventQuery; res: Page<EventRecord> }
  'events.stats': { req: { from?: number; to?: number; cameraId?: string; personId?: string }; res: EventStats }
  'events.exportCsv': { req: EventQuery; res: { csv: string } }

  'settings.get': { req: void; res: Settings }
  'settings.update': { req: Partial<Settings>; res: Settings }

  /** images below the data dir (crops, snapshots, reference photos) as data: URLs */
  'media.get': { req: { key: string }; res: { dataUrl: string } }

  'alertRules.list': { req: void; res: AlertRule[] }
  /** creates (no id) or replaces (id) a rule */
  'alertRules.save': { req: AlertRuleInput; res: AlertRule }
  'alertRules.delete': { req: { id: string }; res: { deleted: true } }
  'alertTargets.list': { req: void; res: AlertTargetView[] }
  'alertTargets.save': { req: AlertTargetInput; res: AlertTargetView }
  'alertTargets.delete': { req: { id: string }; res: { deleted: true } }
  /** queues a test alert to one target; its delivery shows in the log */
  'alertTargets.test': { req: { id: string }; res: DeliveryRecord }
  /** newest first */
  'alerts.list': { req: { limit?: number; unacknowledgedOnly?: boolean }; res: AlertRecord[] }
  'alerts.acknowledge': { req: { id: string; operator: string }; res: AlertRecord }
  /** the delivery log, newest first; one alert's deliveries with alertId */
  'alerts.deliveries': { req: { alertId?: string; limit?: number }; res: DeliveryRecord[] }
}

export type Channel = keyof ApiSpec
export type Req<C extends Channel> = ApiSpec[C]['req']
export type Res<C extends Channel> = ApiSpec[C]['res']

/** Everything the engine pushes without being asked. */
export interface PushSpec {
  'camera.status': CameraView
  'camera.overlay': FrameOverlay
  'camera.preview': PreviewFrame
  'camera.video': VideoFrame
  'review.changed': { pending: number }
  'event.upserted': EventRecord
  'people.changed': { count: number }
  'system.info': SystemInfo
  /** a new alert, or an acknowledged one */
  'alert.changed': AlertRecord
  'alert.delivery': DeliveryRecord
}
export type PushChannel = keyof PushSpec

export const CHANNELS = [
  'system.info',
  'people.list',
  'people.create',
  'people.update',
  'people.delete',
  'people.addPhoto',
  'people.removePhoto',
  'cameras.list',
  'cameras.create',
  'cameras.update',
  'cameras.delete',
  'cameras.test',
  'cameras.focus',
  'review.list',
  'review.decide',
  'review.undo',
  'events.query',
  'events.stats',
  'events.exportCsv',
  'settings.get',
  'settings.update',
  'media.get',
  'alertRules.list',
  'alertRules.save',
  'alertRules.delete',
  'alertTargets.list',
  'alertTargets.save',
  'alertTargets.delete',
  'alertTargets.test',
  'alerts.list',
  'alerts.acknowledge',
  'alerts.deliveries'
] as const satisfies readonly Channel[]

// Compile-time check that CHANNELS lists every Channel exactly.
type MissingChannels = Exclude<Channel, (typeof CHANNELS)[number]>
const allChannelsListed: MissingChannels extends never ? true : MissingChannels = true
void allChannelsListed

export const PUSH_CHANNELS = [
  'camera.status',
  'camera.overlay',
  'camera.preview',
  'camera.video',
  'review.changed',
  'event.upserted',
  'people.changed',
  'system.info',
  'alert.changed',
  'alert.delivery'
] as const satisfies readonly PushChannel[]

/** IPC channel names are namespaced so nothing else on ipcMain can collide. */
export const ipcChannel = (c: Channel): string => `vigil:${c}`
export const ipcPushChannel = (c: PushChannel): string => `vigil-push:${c}`

export const API_ERROR_CODES = [
  'invalid_request',
  'not_found',
  'conflict',
  'busy',
  'bad_image',
  'too_large',
  'camera_error',
  'unauthorized',
  'internal'
] as const
export type ApiErrorCode = (typeof API_ERROR_CODES)[number]

/** Codes from another process or module copy are checked, not trusted. */
export const isApiErrorCode = (c: unknown): c is ApiErrorCode =>
  typeof c === 'string' && (API_ERROR_CODES as readonly string[]).includes(c)

export interface ApiErrorBody {
  code: ApiErrorCode
  message: string
  details?: unknown
}

/** Every answer crosses the wire in this envelope: Electron drops custom Error fields, JSON drops Errors. */
export type Envelope<T> = { ok: true; value: T } | { ok: false; error: ApiErrorBody }

export class ApiError extends Error {
  readonly code: ApiErrorCode
  readonly details?: unknown
  constructor(code: ApiErrorCode, message: string, details?: unknown) {
    super(message)
    this.name = 'ApiError'
    this.code = code
    this.details = details
  }
  toBody(): ApiErrorBody {
    return { code: this.code, message: this.message, details: this.details }
  }
}

/** 'people.addPhoto' → 'peopleAddPhoto' */
type CamelOf<S extends string> = S extends `${infer A}.${infer B}` ? `${A}${Capitalize<CamelOf<B>>}` : S
export const camelOf = (c: string): string => c.replace(/\.(\w)/g, (_, ch: string) => ch.toUpperCase())

type Invoker<C extends Channel> = Req<C> extends void ? () => Promise<Res<C>> : (req: Req<C>) => Promise<Res<C>>

/** One method per channel: 'people.addPhoto' → peopleAddPhoto(req). */
export type ApiMethods = { [C in Channel as CamelOf<C>]: Invoker<C> }

/**
 * The one place the channel list becomes API methods (preload bridge, browser-mode client and the
 * renderer's IPC wrapper all build theirs here), each method passing its channel and its single
 * argument to `invoke`. TypeScript cannot follow a loop into a mapped type, so the single
 * assertion below stands for what the loop guarantees: exactly one method per channel in CHANNELS,
 * which the compile-time check above keeps equal to Channel.
 */
export function buildApiMethods(invoke: (channel: Channel, req: unknown) => Promise<unknown>): ApiMethods {
  const methods: Record<string, (req?: unknown) => Promise<unknown>> = {}
  // One argument at most: extra arguments from the page are never forwarded.
  for (const channel of CHANNELS) methods[camelOf(channel)] = (req?: unknown) => invoke(channel, req)
  return methods as ApiMethods
}

/** What the preload exposes as window.vigil and what the browser-mode client implements. */
export type VigilApi = ApiMethods & {
  /** subscribe to a push channel; returns the unsubscribe function */
  on<P extends PushChannel>(channel: P, listener: (payload: PushSpec[P]) => void): () => void
  /** how this console is connected */
  readonly transport: 'ipc' | 'websocket'
}

/** Server side: one handler per channel. */
export type Handlers = { [C in Channel]: (req: Req<C>) => Promise<Res<C>> }

/** WebSocket frames of browser mode. */
export type WsClientMessage =
  | { kind: 'invoke'; id: number; channel: Channel; payload: unknown }
  | { kind: 'auth'; token: string }
  /** previews and overlays only for these cameras (the tiles on screen); null = all cameras */
  | { kind: 'watch'; cameraIds: string[] | null }
export type WsServerMessage =
  | { kind: 'result'; id: number; envelope: Envelope<unknown> }
  | { kind: 'push'; channel: PushChannel; payload: unknown }
  | { kind: 'hello'; version: string; needsToken: boolean }

export type { Band }
