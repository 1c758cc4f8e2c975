// Wires the boxes of the engine together and exposes them as one handler per API channel.
// Both shells (Electron IPC and browser-mode WebSocket) and the headless runner use this; it never
// imports Electron.
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { basename, isAbsolute, join, relative, sep } from 'node:path'
import { AlertService, type AlertServiceOptions } from '../alerts/service'
import { alertsMigrations } from '../alerts/migrations'
import { SqlAlertsRepository } from '../alerts/sql-repository'
import { ApiError, type Handlers, type PushChannel, type PushSpec } from '../../shared/api'
import type { ExecutionProvider, Settings, SystemInfo } from '../../shared/types'
import { OPERATOR_POLICY, settingsPolicy } from '../cameras/policy'
import { CameraService } from '../cameras/service'
import { cameraHandlers } from '../cameras/handlers'
import type { BackendOptions, VigilBackend } from '../contracts'
import { EventLog, startRetention } from '../events/events'
import { eventHandlers } from '../events/handlers'
import { Gallery } from '../gallery/gallery'
import { peopleHandlers } from '../gallery/handlers'
import { InferencePool } from '../inference/pool/pool'
import { LiveProcessor } from '../live/processor'
import { FaceMemory } from '../memory/face-memory'
import { memoryHandlers } from '../memory/handlers'
import { MEMORY_MIGRATIONS } from '../memory/migrations'
import { SqlMemoryRepository } from '../memory/repository'
import { reviewHandlers } from '../review/handlers'
import { ReviewQueue } from '../review/queue'
import { createLogger } from '../log/pino'
import type { Logger } from '../log/logger'
import { Store } from '../store/db'
import { DEFAULT_SETTINGS } from '../store/schema'
import { keyFileBox } from '../store/secret-box'
import { sweepOrphans } from '../store/orphans'
import { importLegacyDb } from '../store/import-legacy'
import { MediaStore } from '../store/media'
import { SETTINGS_CODEC, type SettingsDoc } from '../store/settings'
import { CHANNELS, openSqlStore, type SqlStore } from '../store/sql-store'
import { redactDbUrl } from '../store/sql/open'
import { AnalyzerHandle } from './analyzer-handle'
import { PushBus } from './push'
import { serial } from '../util/serial'

export const VERSION = '0.1.0'

export interface Backend extends VigilBackend {
  /** settings.json: settings and camera configuration */
  readonly store: Store<SettingsDoc>
  /** the SQL store: history, gallery, review */
  readonly sql: SqlStore
  readonly media: MediaStore
  readonly pool: AnalyzerHandle
  readonly gallery: Gallery
  readonly events: EventLog
  readonly review: ReviewQueue
  readonly cameras: CameraService
  readonly live: LiveProcessor
  readonly alerts: AlertService
  readonly memory: FaceMemory
  systemInfo(): SystemInfo
}

export interface CreateBackendOptions extends BackendOptions {
  /** override pool size (default: settings.workers) */
  workers?: number
  /** camera watchdog, ms (tests shorten it) */
  watchdogMs?: number
  /** same as `db` (BackendOptions); kept for callers that name it so */
  dbUrl?: string
  /** delivery timing and the media base URL of payloads (tests shorten the retries) */
  alerts?: Pick<AlertServiceOptions, 'backoff' | 'maxAttempts' | 'pollMs' | 'mqttReconnect' | 'mediaBaseUrl'>
}

/** `file` relative to the data folder when inside it, else its name only. */
export function clientPath(dataDir: string, file: string): string {
  const rel = relative(dataDir, file)
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : basename(file)
}

/** --db flag, else VIGIL_DB, else settings.json's `database`, else the SQLite file in the data dir. */
export function databaseUrl(flag: string | undefined, env: NodeJS.ProcessEnv, doc: SettingsDoc): string | undefined {
  const pick = [flag, env.VIGIL_DB, doc.database].find((v) => typeof v === 'string' && v.trim() !== '')
  return pick?.trim()
}

/** Notification payloads name the sender, so an instance ignores its own; '|' never occurs in an instance id. */
export function notifyPayload(instanceId: string, what: string): string {
  return `${instanceId}|${what}`
}

/** What another instance's payload is about, or null for this instance's own (or a malformed one). */
export function fromOtherInstance(instanceId: string, payload: string): string | null {
  const i = payload.indexOf('|')
  return i < 0 || payload.slice(0, i) === instanceId ? null : payload.slice(i + 1)
}

export async function createBackend(opts: CreateBackendOptions): Promise<Backend> {
  const own = opts.logger ? null : createLogger({ dataDir: opts.dataDir })
  const logger = opts.logger ?? own!.logger
  const logFile = opts.logger ? (opts.logFile ?? null) : own!.file
  // clients see where the log is relative to the data folder, never an absolute path of the server
  const clientLogFile = logFile === null ? null : clientPath(opts.dataDir, logFile)
  const boxLog = (box: string): Logger => logger.child({ box })
  const bus = new PushBus(boxLog('push'))
  const storeLog = boxLog('store')
  const store = await Store.open<SettingsDoc>(opts.dataDir, { codec: SETTINGS_CODEC, logger: storeLog }).catch(
    (err: unknown) => {
      own?.close()
      throw err
    }
  )
  let sql: SqlStore
  let instanceId: string
  // set once the gallery and queue exist; a reconnect before then has nothing to refresh
  let resync: () => void = () => {}
  try {
    if (!store.data.instanceId) {
      // names this instance among several sharing one database (cameras are assigned to one)
      const id = `${hostname().replace(/\|/g, '-')}-${randomBytes(3).toString('hex')}`
      await store.mutate((d) => {
        d.instanceId = id
      })
    }
    instanceId = store.data.instanceId as string
    const url = databaseUrl(opts.db ?? opts.dbUrl, process.env, store.data)
    sql = await openSqlStore({
      url,
      dataDir: opts.dataDir,
      logger: storeLog,
      extraMigrations: [...alertsMigrations, ...MEMORY_MIGRATIONS],
      // after a LISTEN outage the gallery and queue are re-read: notifications sent meanwhile are lost
      postgres: { onListenReconnect: () => resync() }
    })
    storeLog.info(
      { engine: sql.db.engine, db: url ? redactDbUrl(url) : 'vigil.db', instanceId },
      'store: database open'
    )
    try {
      await importLegacyDb(opts.dataDir, sql, store, storeLog)
    } catch (e) {
      await sql.close()
      throw e
    }
  } catch (e) {
    await store.close()
    own?.close()
    throw e
  }
  const media = new MediaStore(opts.dataDir)
  // before anything else writes: the data dir 0700 and the box that keeps camera passwords sealed
  const secretBox = opts.secretBox ?? keyFileBox(opts.dataDir)
  const settings = (): Settings => store.data.settings

  const poolLog = boxLog('inference')
  let infoTimer: NodeJS.Timeout | null = null
  let closed = false
  let poolReady = false
  const startPool = (workers: number, provider: ExecutionProvider): Promise<InferencePool> =>
    InferencePool.create({
      size: workers,
      provider,
      modelsDir: opts.modelsDir ?? join(process.cwd(), 'models'),
      execPath: opts.workerExecPath,
      env: opts.workerExecPath ? { ...process.env, ELECTRON_RUN_AS_NODE: '1' } : undefined,
      onLog: (id, line) => poolLog.info({ worker: id }, line),
      // state changes come twice per job: coalesce them into at most one push per second
      onWorkersChanged: () => {
        if (infoTimer) return
        if (closed) return
        infoTimer = setTimeout(() => {
          infoTimer = null
          // worker states change while the pool is still starting, before `pool` is assigned
          if (poolReady) bus.emit('system.info', systemInfo())
        }, 1000)
        infoTimer.unref()
      }
    })
  const pool = new AnalyzerHandle(await startPool(opts.workers ?? settings().workers, settings().executionProvider))
  poolReady = true
  const memory = await FaceMemory.open({
    repo: new SqlMemoryRepository(sql.db),
    media: {
      put: (kind, jpeg, at) => media.put(kind, jpeg, at),
      remove: async (key) => void (await media.remove(key))
    },
    logger: boxLog('memory')
  })
  const events = new EventLog(sql.events, media, {
    logger: boxLog('events'),
    cameraName: (id) => store.data.cameras.find((c) => c.id === id)?.name
  })
  await events.init()
  events.subscribe((e) => bus.emit('event.upserted', e))
  const gallery = new Gallery(sql.gallery, media, pool, settings, {
    onChange: (count) => bus.emit('people.changed', { count }),
    logger: boxLog('gallery'),
    notify: (personId) => sql.db.notify(CHANNELS.gallery, notifyPayload(instanceId, personId))
  })
  await gallery.load()
  const review = new ReviewQueue(
    sql.review,
    media,
    gallery,
    events,
    (pending) => bus.emit('review.changed', { pending }),
    {
      logger: boxLog('review'),
      notify: (what) => sql.db.notify(CHANNELS.review, notifyPayload(instanceId, what)),
      memory
    }
  )
  await review.load()
  resync = () => {
    gallery
      .reloadAll()
      .catch((e: unknown) => logger.warn({ err: String(e) }, 'gallery: reload after a notification outage failed'))
    review
      .reload()
      .catch((e: unknown) => logger.warn({ err: String(e) }, 'review: reload after a notification outage failed'))
  }
  // other instances sharing the database: their gallery and queue changes reach this one's matcher
  // and console as soon as the notification arrives (PostgreSQL LISTEN/NOTIFY; in-process for SQLite)
  const unlisten = [
    await sql.db.listen(CHANNELS.gallery, (p) => {
      const personId = fromOtherInstance(instanceId, p)
      if (personId)
        gallery
          .reloadPerson(personId)
          .catch((e: unknown) =>
            boxLog('gallery').warn({ personId, err: String(e) }, 'reload after a change elsewhere failed')
          )
    }),
    await sql.db.listen(CHANNELS.review, (p) => {
      if (fromOtherInstance(instanceId, p) !== null)
        review
          .reload()
          .catch((e: unknown) => boxLog('review').warn({ err: String(e) }, 'reload after a change elsewhere failed'))
    })
  ]
  const live = new LiveProcessor({
    analyzer: pool,
    gallery,
    events,
    review,
    settings,
    logger: boxLog('live'),
    memory,
    minFaceSize: (id) => store.data.cameras.find((c) => c.id === id)?.minFaceSize ?? 24,
    detectTiles: (id) => store.data.cameras.find((c) => c.id === id)?.detectTiles ?? 1,
    // one frame per worker: a frame never waits in the pool's queue behind another camera's
    concurrency: () => Math.max(1, pool.workers().length),
    weight: (id) => (store.data.cameras.find((c) => c.id === id)?.important ? 2 : 1),
    onLoad: (load) => {
      if (closed) return
      bus.emit('system.info', systemInfo())
      // reported each second while overloaded; the alert rule's cooldown keeps it to one alert
      if (load.overloaded)
        alerts.engineOverloaded({
          reason: `overloaded: analysing ${load.analysedFps.toFixed(1)} of ${load.offeredFps.toFixed(1)} fps`
        })
    }
  })
  live.onOverlay((o) => bus.emit('camera.overlay', o))

  const alerts = await AlertService.open({
    ...opts.alerts,
    // the one database of this instance (its schema includes the alerts box, see APP_MIGRATIONS)
    repo: new SqlAlertsRepository(sql.db),
    logger: boxLog('alerts'),
    // outbox leases name the instance that holds them (several may share one database)
    instance: instanceId,
    retentionDays: () => settings().retentionDays,
    // called from broker connects, after the camera service exists
    cameras: () => cameras.list().map((c) => ({ id: c.id, name: c.name, state: c.status.state })),
    onAlert: (a) => bus.emit('alert.changed', a),
    onDelivery: (d) => bus.emit('alert.delivery', d)
  })
  // a track's sighting is recorded before its events close, so the closing update carries its group
  alerts.setStrangerGroupResolver((e) => memory.groupOfTrack(e.trackId))
  events.subscribe((e) => alerts.onEvent(e))
  live.onTrackEnded((cameraId, trackId) => alerts.onTrackEnded(cameraId, trackId))

  const cameras = new CameraService(
    store,
    {
      onFrameReady: (src) => live.frameReady(src),
      // bytes, never base64: browser mode sends them as a binary frame, IPC as a Uint8Array
      onPreview: (cameraId, jpeg, at) => bus.emit('camera.preview', { cameraId, at, jpeg }),
      onStatus: (view) => {
        bus.emit('camera.status', view)
        alerts.onCameraStatus(view)
      },
      onStopped: (id) => live.forgetCamera(id),
      onVideo: (c) => bus.emit('camera.video', c)
    },
    {
      watchdogMs: opts.watchdogMs,
      logger: boxLog('cameras'),
      // headless = the CLI tools (watch, bench:live), whose operator typed the file path on their own
      // command line; the shells serving a console go by the folders listed in Settings
      policy:
        opts.mode === 'headless'
          ? OPERATOR_POLICY
          : settingsPolicy(() => settings().localVideoFolders, opts.exposed !== true)
    },
    instanceId,
    () => settings().maxCameras ?? DEFAULT_SETTINGS.maxCameras,
    secretBox
  )
  await cameras.sealStored()
  cameras.startAll()
  // reference photos no person points to (a crash between file and record, an old bug) are face
  // images nobody can see or delete: swept once shortly after start, then daily
  const photoLog = boxLog('photos')
  // the gallery holds every person of the (possibly shared) database, so a photo another
  // instance references is never taken for an orphan
  const referencedPhotos = (): string[] => gallery.list().flatMap((p) => p.photos.map((ph) => ph.media))
  const sweep = (): void =>
    void sweepOrphans(media, 'photos', referencedPhotos).then(
      (r) => {
        if (r.removed + r.temps > 0) photoLog.warn(`removed ${r.removed} orphaned photos and ${r.temps} temp files`)
      },
      (err: unknown) => photoLog.error({ err }, 'orphan sweep failed')
    )
  const sweepFirst = setTimeout(sweep, 60_000)
  const sweepTimer = setInterval(sweep, 86_400_000)
  sweepFirst.unref()
  sweepTimer.unref()
  const stopRetention = startRetention(events, () => settings().retentionDays, 3_600_000, {
    partner: review,
    logger: boxLog('retention')
  })

  function systemInfo(): SystemInfo {
    return {
      version: VERSION,
      mode: opts.mode,
      // listed field by field: a field added to WorkerInfo later is not sent to clients by default
      workers: pool.workers().map((w) => ({
        id: w.id,
        requested: w.requested,
        provider: w.provider,
        state: w.state,
        jobsDone: w.jobsDone
      })),
      queueDepth: pool.queueDepth(),
      logFile: clientLogFile,
      instanceId,
      storage: sql.db.engine,
      load: live.load()
    }
  }

  const settingsUpdates = serial()
  async function updateSettings(patch: Partial<Settings>): Promise<Settings> {
    const prev = settings()
    const next: Settings = { ...prev, ...patch, thresholds: { ...prev.thresholds, ...(patch.thresholds ?? {}) } }
    if (next.thresholds.review > next.thresholds.accept) {
      throw new ApiError('invalid_request', 'review threshold must not exceed the accept threshold')
    }
    const poolChanged =
      next.executionProvider !== prev.executionProvider ||
      (patch.workers !== undefined && patch.workers !== pool.workers().length)
    if (poolChanged) {
      // start the new pool before storing: a provider that cannot start leaves everything as it was
      await pool.replace(() => startPool(next.workers, next.executionProvider))
      bus.emit('system.info', systemInfo())
    }
    await store.mutate((d) => {
      d.settings = next
    })
    return next
  }

  const handlers: Handlers = {
    'system.info': async () => systemInfo(),

    ...peopleHandlers(gallery),
    ...cameraHandlers(cameras),
    ...reviewHandlers(review),
    ...memoryHandlers({ memory, gallery, media, log: boxLog('memory') }),
    // pending items about a deleted person resolve themselves
    'people.delete': async (req) => {
      const r = await peopleHandlers(gallery)['people.delete'](req)
      await review.personDeleted(req.id)
      return r
    },
    ...eventHandlers(events),
    ...alerts.handlers(),

    'settings.get': async () => settings(),
    'settings.update': (patch) => {
      // one update at a time: a pool swap takes seconds and must not let a later change be
      // overwritten by this one's stale copy of the settings
      return settingsUpdates.run(() => updateSettings(patch))
    },

    'media.get': async ({ key }) => ({ dataUrl: await media.dataUrl(key) })
  }

  return {
    store,
    sql,
    media,
    pool,
    gallery,
    events,
    review,
    cameras,
    live,
    alerts,
    memory,
    handlers,
    systemInfo,
    onPush<P extends PushChannel>(listener: (channel: P, payload: PushSpec[P]) => void): () => void {
      return bus.on(listener as <Q extends PushChannel>(channel: Q, payload: PushSpec[Q]) => void)
    },
    async close() {
      if (closed) return
      closed = true
      stopRetention()
      clearTimeout(sweepFirst)
      clearInterval(sweepTimer)
      if (infoTimer) clearTimeout(infoTimer)
      await cameras.stopAll()
      // tracks still on screen get their events (unknown faces, short review tracks, closing times)
      live.forgetAll()
      await live.drain()
      await alerts.close()
      await memory.drain()
      await pool.close()
      for (const u of unlisten) await u().catch(() => undefined)
      await sql.close()
      await store.close()
      own?.close()
    }
  }
}
