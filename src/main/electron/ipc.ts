// IPC between the console window and the engine. Each operation has its own namespaced channel;
// every message is checked for WHO sent it (only the app's own top frame, as VS Code's
// validatedIpcMain does) and WHAT it carries (dispatch validates against the shared schemas).
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron'
import { CHANNELS, ipcChannel, ipcPushChannel, type Envelope, type PushChannel } from '../../shared/api'
import { dispatch, dispatchLogger, errorEnvelope } from '../api/dispatch'
import type { VigilBackend } from '../contracts'
import type { Logger } from '../log/logger'
import { isAppUrl, type AppSource } from './policy'

export interface IpcContext {
  source: AppSource
  /** the windows allowed to call the API */
  trustedContentsIds(): ReadonlySet<number>
  /** resolves once the engine is up; rejects if it failed to start */
  backend: Promise<VigilBackend>
  logger: Logger
}

export function senderRejection(
  event: IpcMainInvokeEvent,
  ctx: Pick<IpcContext, 'source' | 'trustedContentsIds'>
): string | null {
  if (!ctx.trustedContentsIds().has(event.sender.id)) return 'sender is not a console window'
  const frame = event.senderFrame
  if (!frame) return 'sender frame is gone'
  if (frame.parent !== null) return 'only the top frame may call the API'
  if (!isAppUrl(frame.url, ctx.source)) return `sender ${frame.url.slice(0, 200)} is not the console`
  return null
}

/** Registers one handler per channel; returns the function that removes them. */
export function registerIpc(ctx: IpcContext): () => void {
  const onDispatchError = dispatchLogger(ctx.logger)
  for (const channel of CHANNELS) {
    ipcMain.handle(ipcChannel(channel), async (event, payload: unknown): Promise<Envelope<unknown>> => {
      const rejected = senderRejection(event, ctx)
      if (rejected) {
        ctx.logger.warn(`rejected IPC ${channel}: ${rejected}`)
        return errorEnvelope('unauthorized', rejected)
      }
      let backend: VigilBackend
      try {
        backend = await ctx.backend
      } catch (err) {
        return errorEnvelope(
          'internal',
          `the engine failed to start: ${err instanceof Error ? err.message : String(err)}`
        )
      }
      return dispatch(backend, channel, payload, onDispatchError)
    })
  }
  return () => {
    for (const channel of CHANNELS) ipcMain.removeHandler(ipcChannel(channel))
  }
}

/** Forwards engine pushes to the window while it shows the console. */
export function forwardPushes(
  backend: VigilBackend,
  getWindow: () => BrowserWindow | null,
  source: AppSource
): () => void {
  return backend.onPush((channel: PushChannel, payload: unknown) => {
    const win = getWindow()
    if (!win || win.isDestroyed() || win.webContents.isDestroyed()) return
    // Defence in depth: never hand camera data to a page that is not ours.
    if (!isAppUrl(win.webContents.getURL(), source)) return
    win.webContents.send(ipcPushChannel(channel), payload)
  })
}
