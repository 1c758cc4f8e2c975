// Electron hardening in the style of Podman Desktop's security-restrictions: the console is a
// local app that shows camera feeds, so its pages may never leave the app, open windows, embed
// webviews or get device permissions, whatever a compromised renderer tries.
import { app, session, shell, type Session } from 'electron'
import { silentLogger, type Logger } from '../log/logger'
import { isAllowedExternal, isAppUrl, type AppSource } from './policy'

/** Call before any window exists (web-contents-created must see the first one). */
export function installSecurityRestrictions(source: AppSource, log: Logger = silentLogger): void {
  const warn = (what: string, url: string): void => log.warn(`blocked ${what}: ${url.slice(0, 300)}`)
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-frame-navigate', (event) => {
      if (!isAppUrl(event.url, source)) {
        event.preventDefault()
        warn('navigation', event.url)
      }
    })
    contents.on('will-redirect', (event) => {
      if (!isAppUrl(event.url, source)) {
        event.preventDefault()
        warn('redirect', event.url)
      }
    })
    // New windows never open inside the app; explicitly allowed links go to the system browser.
    contents.setWindowOpenHandler(({ url }) => {
      if (isAllowedExternal(url)) {
        void shell.openExternal(url)
      } else {
        warn('window.open', url)
      }
      return { action: 'deny' }
    })
    contents.on('will-attach-webview', (event, _prefs, params) => {
      event.preventDefault()
      warn('webview', params.src)
    })
  })
}

/** Call once the app is ready (sessions do not exist before). */
export function installSessionPolicies(
  source: AppSource,
  csp: string,
  ses: Session = session.defaultSession,
  log: Logger = silentLogger
): void {
  // Nothing in the console needs camera, microphone, notifications, geolocation or devices:
  // cameras are read by the engine via ffmpeg, never by the page.
  ses.setPermissionRequestHandler((_wc, permission, callback) => {
    log.warn(`denied permission request: ${permission}`)
    callback(false)
  })
  ses.setPermissionCheckHandler(() => false)
  ses.setDevicePermissionHandler(() => false)
  ses.on('will-download', (event) => event.preventDefault())

  ses.webRequest.onHeadersReceived((details, callback) => {
    const headers: Record<string, string | string[]> = {}
    for (const [k, v] of Object.entries(details.responseHeaders ?? {})) {
      if (k.toLowerCase() !== 'content-security-policy') headers[k] = v
    }
    // Only the app's own documents get our policy; in dev the Vite server serves them over http.
    if (isAppUrl(details.url, source)) headers['Content-Security-Policy'] = [csp]
    callback({ responseHeaders: headers })
  })
}
