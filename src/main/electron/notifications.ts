// Desktop notifications of the Electron app: new alerts whose rule asks for one. The browser-mode
// console uses the web Notification API instead (src/renderer), so each alert notifies once.
import { Notification } from 'electron'
import type { VigilBackend } from '../contracts'
import type { AlertRecord } from '../../shared/types'

/** Title and body of an alert's notification; pure so the wording is tested without Electron. */
export function notificationText(a: AlertRecord): { title: string; body: string } {
  const when = new Date(a.at).toLocaleTimeString()
  return { title: `Vigil: ${a.ruleName}`, body: `${a.message} · ${when}` }
}

/** Shows a notification for every new, unacknowledged alert that asks for one; returns unsubscribe. */
export function forwardAlertNotifications(backend: VigilBackend, focus: () => void): () => void {
  if (!Notification.isSupported()) return () => undefined
  return backend.onPush((channel, payload) => {
    if (channel !== 'alert.changed') return
    const a = payload as AlertRecord
    if (!a.desktop || a.acknowledgedAt !== null) return
    // the console window plays the rule's chime itself (it runs while minimised): the OS sound
    // would make it twice
    const n = new Notification({ ...notificationText(a), silent: true })
    n.on('click', focus)
    n.show()
  })
}
