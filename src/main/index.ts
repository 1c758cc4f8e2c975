// Electron main process (electron-vite entry, built to out/main/index.js). Hosts the engine and
// its inference worker pool, serves the API to the one console window over validated IPC.
import { app, BrowserWindow, dialog, safeStorage } from 'electron'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createBackend } from './app/create-backend'
import { CSP_ELECTRON } from './api/csp'
import type { VigilBackend } from './contracts'
import { forwardPushes, registerIpc } from './electron/ipc'
import { forwardAlertNotifications } from './electron/notifications'
import { appSourceFrom, devRendererUrl } from './electron/policy'
import { installSecurityRestrictions, installSessionPolicies } from './electron/security-restrictions'
import { createMainWindow, windowPaths } from './electron/window'
import { createLogger } from './log/pino'
import { keychainBox } from './store/secret-box'

const mainOutDir = fileURLToPath(new URL('.', import.meta.url))
const paths = windowPaths(mainOutDir)
// electron-vite dev sets this to the Vite server; any built app (npm start, packaged) ignores it.
const devUrl = devRendererUrl(process.env, import.meta.env?.DEV === true)
const source = appSourceFrom(devUrl, join(mainOutDir, '../renderer'))

let mainWindow: BrowserWindow | null = null

function focusWindow(): void {
  if (!mainWindow || mainWindow.isDestroyed()) return
  if (mainWindow.isMinimized()) mainWindow.restore()
  mainWindow.focus()
}

async function run(): Promise<void> {
  // Every renderer sandboxed, including any the page might coax into existence.
  app.enableSandbox()
  const dataDir = process.env.VIGIL_DATA_DIR || join(app.getPath('userData'), 'data')
  const { logger, file: logFile } = createLogger({ dataDir })
  const log = logger.child({ box: 'electron' })
  installSecurityRestrictions(source, log)
  app.on('second-instance', focusWindow)
  // The engine keeps cameras and workers running; with no window nobody sees them, so quit.
  app.on('window-all-closed', () => app.quit())

  await app.whenReady()
  installSessionPolicies(source, CSP_ELECTRON, undefined, log)

  // Started alongside the window so the first paint does not wait for model loading; IPC
  // handlers await it and answer 'internal' with the reason if it fails.
  // Resolved from the bundle, not the cwd: Electron may be launched from anywhere.
  const modelsDir =
    process.env.VIGIL_MODELS_DIR ||
    (app.isPackaged ? join(process.resourcesPath, 'models') : join(mainOutDir, '../../models'))
  const backendReady: Promise<VigilBackend> = createBackend({
    mode: 'electron',
    dataDir,
    modelsDir,
    workerExecPath: process.execPath,
    // the OS keychain where Electron has one; otherwise the engine's key file in the data dir
    // Linux without a keyring reports "available" with a hard-coded key (basic_text): not a keychain
    secretBox:
      safeStorage.isEncryptionAvailable() &&
      !(process.platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text')
        ? keychainBox(
            (s) => safeStorage.encryptString(s),
            (b) => safeStorage.decryptString(b)
          )
        : undefined,
    logger,
    logFile
  })
  backendReady.catch((err: unknown) => {
    log.error({ err }, 'engine failed to start')
    dialog.showErrorBox('Vigil could not start its engine', err instanceof Error ? err.message : String(err))
  })

  const trusted = new Set<number>()
  const unregister = registerIpc({ source, backend: backendReady, trustedContentsIds: () => trusted, logger: log })

  mainWindow = await createMainWindow(paths, source, devUrl).catch((err: unknown) => {
    log.error({ err }, 'window failed to load')
    return null
  })
  if (mainWindow) {
    const id = mainWindow.webContents.id
    trusted.add(id)
    mainWindow.on('closed', () => {
      trusted.delete(id)
      mainWindow = null
    })
  }

  let stopPushes: () => void = () => undefined
  let stopNotifications: () => void = () => undefined
  backendReady.then(
    (b) => {
      stopPushes = forwardPushes(b, () => mainWindow, source)
      stopNotifications = forwardAlertNotifications(b, focusWindow)
    },
    () => undefined
  )

  let quitting = false
  app.on('before-quit', (event) => {
    if (quitting) return
    quitting = true
    event.preventDefault()
    unregister()
    stopPushes()
    stopNotifications()
    const force = setTimeout(() => app.exit(1), 10_000)
    void backendReady
      .then((b) => b.close())
      .catch((err: unknown) => log.error({ err }, 'engine shutdown failed'))
      .finally(() => {
        clearTimeout(force)
        app.exit(0)
      })
  })
}

if (!app.requestSingleInstanceLock()) {
  // A second instance would fight the first over the data dir and the cameras.
  app.quit()
} else {
  run().catch((err: unknown) => {
    // eslint-disable-next-line no-console -- last resort: startup may have failed before the logger existed
    console.error('[vigil] startup failed', err)
    dialog.showErrorBox('Vigil failed to start', err instanceof Error ? err.message : String(err))
    app.exit(1)
  })
}
