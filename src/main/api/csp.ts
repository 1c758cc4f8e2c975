// One CSP for both shells so the console behaves the same in Electron and in a browser.
// The renderer's index.html carries the same policy in a <meta> tag because Electron does not
// route file:// responses through every webRequest hook; the header is the second line of defence.

/**
 * Electron: the console talks to the engine over IPC only, so the renderer needs no network at
 * all; connect-src 'none' means injected script cannot even reach a local socket.
 */
export const CSP_ELECTRON =
  "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; connect-src 'none'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** Browser mode: the page and the /api socket share one origin, and CSP3 'self' covers ws: to it. */
export const CSP_BROWSER =
  "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** Headers that harden every response of the console, whichever shell serves it. */
export function securityHeaders(csp: string): Record<string, string> {
  return {
    'Content-Security-Policy': csp,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin'
  }
}
