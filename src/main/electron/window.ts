// The single console window.
import { BrowserWindow } from 'electron'
import { join } from 'node:path'
import type { AppSource } from './policy'

/** Painted before the renderer's first frame; matches the console's dark theme (no white flash). */
export const WINDOW_BACKGROUND = '#0e1116'

export interface WindowPaths {
  /** out/preload/index.cjs: sandboxed preloads must be CommonJS */
  preload: string
  /** out/renderer/index.html */
  indexHtml: string
}

export function windowPaths(mainOutDir: string): WindowPaths {
  return {
    preload: join(mainOutDir, '../preload/index.cjs'),
    indexHtml: join(mainOutDir, '../renderer/index.html')
  }
}

export async function createMainWindow(
  paths: WindowPaths,
  source: AppSource,
  devUrl: string | undefined
): Promise<BrowserWindow> {
  const win = new BrowserWindow({
    width: 1440,
    height: 900,
    minWidth: 960,
    minHeight: 600,
    title: 'Vigil',
    show: false,
    backgroundColor: WINDOW_BACKGROUND,
    autoHideMenuBar: true,
    webPreferences: {
      preload: paths.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false
    }
  })
  win.once('ready-to-show', () => win.show())
  if (source.kind === 'dev' && devUrl) await win.loadURL(devUrl)
  else await win.loadFile(paths.indexHtml)
  return win
}
