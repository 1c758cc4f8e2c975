import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { Settings, SystemInfo } from '@shared/types'
import { useApi } from '../api'
import { useToastStore } from './toasts'

export const useSystemStore = defineStore('system', () => {
  const info = ref<SystemInfo | null>(null)
  const settings = ref<Settings | null>(null)

  async function loadInfo(): Promise<void> {
    try {
      info.value = await useApi().systemInfo()
    } catch (e) {
      useToastStore().error(e, 'Could not read the engine status')
    }
  }

  async function loadSettings(): Promise<void> {
    try {
      settings.value = await useApi().settingsGet()
    } catch (e) {
      useToastStore().error(e, 'Could not load settings')
    }
  }

  /** Throws on failure so the form can keep the operator's unsaved values. */
  async function saveSettings(patch: Partial<Settings>): Promise<Settings> {
    const s = await useApi().settingsUpdate(patch)
    settings.value = s
    return s
  }

  /** null until settings load: nothing is coloured against a guessed threshold. */
  const thresholds = computed(() => settings.value?.thresholds ?? null)

  return {
    info,
    settings,
    thresholds,
    loadInfo,
    loadSettings,
    saveSettings,
    setInfo: (i: SystemInfo) => (info.value = i)
  }
})
