import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { AlertRuleInput, AlertTargetInput } from '@shared/types'
import type { AlertRecord, AlertRule, AlertTargetView, DeliveryRecord } from '@shared/types'
import { connection, useApi } from '../api'
import { mergeById, newerAlert, newerDelivery } from '../lib/alerts'
import { useOperatorStore } from './operator'
import { useToastStore } from './toasts'

/** Short two-tone chime with WebAudio: no sound file to ship, and it works offline. */
function chime(): void {
  try {
    const ctx = new AudioContext()
    const t = ctx.currentTime
    for (const [i, f] of [880, 660].entries()) {
      const osc = ctx.createOscillator()
      const gain = ctx.createGain()
      osc.frequency.value = f
      gain.gain.setValueAtTime(0.0001, t + i * 0.18)
      gain.gain.exponentialRampToValueAtTime(0.2, t + i * 0.18 + 0.02)
      gain.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.18 + 0.16)
      osc.connect(gain).connect(ctx.destination)
      osc.start(t + i * 0.18)
      osc.stop(t + i * 0.18 + 0.17)
    }
    setTimeout(() => void ctx.close(), 800)
  } catch {
    // no audio device: the banner still shows
  }
}

export const useAlertsStore = defineStore('alerts', () => {
  const alerts = ref<AlertRecord[]>([])
  const rules = ref<AlertRule[]>([])
  const targets = ref<AlertTargetView[]>([])
  const deliveries = ref<DeliveryRecord[]>([])
  const loaded = ref(false)
  const notifyPermission = ref<NotificationPermission | 'unsupported'>(
    typeof Notification === 'undefined' ? 'unsupported' : Notification.permission
  )

  const open = computed(() => alerts.value.filter((a) => a.console && a.acknowledgedAt === null))

  async function load(): Promise<void> {
    try {
      const api = useApi()
      const [a, r, t, d] = await Promise.all([
        api.alertsList({ limit: 200 }),
        api.alertRulesList(),
        api.alertTargetsList(),
        api.alertsDeliveries({ limit: 200 })
      ])
      alerts.value = a
      rules.value = r
      targets.value = t
      deliveries.value = d
      loaded.value = true
    } catch (e) {
      useToastStore().error(e, 'Could not load alerts')
    }
  }

  /** Push: a new alert (sound, desktop notification) or an acknowledged one. */
  function apply(a: AlertRecord): void {
    const isNew = !alerts.value.some((x) => x.id === a.id)
    alerts.value = mergeById(alerts.value, a, newerAlert)
    if (!isNew || a.acknowledgedAt !== null) return
    if (a.sound) chime()
    // the Electron app notifies from the main process; the browser console does it here
    if (a.desktop && connection.transport === 'websocket' && notifyPermission.value === 'granted') {
      const n = new Notification(`Vigil: ${a.ruleName}`, { body: a.message, tag: a.id })
      n.onclick = () => window.focus()
    }
  }

  function applyDelivery(d: DeliveryRecord): void {
    deliveries.value = mergeById(deliveries.value, d, newerDelivery)
  }

  async function askNotifyPermission(): Promise<void> {
    if (typeof Notification === 'undefined') return
    notifyPermission.value = await Notification.requestPermission()
  }

  async function acknowledge(a: AlertRecord): Promise<void> {
    const op = useOperatorStore()
    if (!op.name) {
      op.ask()
      useToastStore().info('Enter your operator name first: it is recorded with every acknowledgement.')
      return
    }
    try {
      apply(await useApi().alertsAcknowledge({ id: a.id, operator: op.name }))
    } catch (e) {
      useToastStore().error(e, 'Could not acknowledge the alert')
    }
  }

  async function saveRule(input: AlertRuleInput): Promise<AlertRule> {
    const r = await useApi().alertRulesSave(input)
    rules.value = rules.value.some((x) => x.id === r.id)
      ? rules.value.map((x) => (x.id === r.id ? r : x))
      : [...rules.value, r]
    return r
  }

  async function deleteRule(id: string): Promise<void> {
    await useApi().alertRulesDelete({ id })
    rules.value = rules.value.filter((r) => r.id !== id)
  }

  async function saveTarget(input: AlertTargetInput): Promise<AlertTargetView> {
    const t = await useApi().alertTargetsSave(input)
    targets.value = targets.value.some((x) => x.id === t.id)
      ? targets.value.map((x) => (x.id === t.id ? t : x))
      : [...targets.value, t]
    return t
  }

  async function deleteTarget(id: string): Promise<void> {
    await useApi().alertTargetsDelete({ id })
    targets.value = targets.value.filter((t) => t.id !== id)
  }

  async function testTarget(t: AlertTargetView): Promise<void> {
    try {
      applyDelivery(await useApi().alertTargetsTest({ id: t.id }))
      useToastStore().info(`Test alert queued for ${t.name}; the delivery log shows the result.`)
    } catch (e) {
      useToastStore().error(e, `Could not send a test alert to ${t.name}`)
    }
  }

  return {
    alerts,
    rules,
    targets,
    deliveries,
    loaded,
    open,
    notifyPermission,
    load,
    apply,
    applyDelivery,
    askNotifyPermission,
    acknowledge,
    saveRule,
    deleteRule,
    saveTarget,
    deleteTarget,
    testTarget
  }
})
