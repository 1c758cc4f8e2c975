import { defineStore } from 'pinia'
import { ref } from 'vue'

const KEY = 'vigil.operator'

function load(): string {
  try {
    return window.localStorage.getItem(KEY)?.trim() ?? ''
  } catch {
    return ''
  }
}

/** The operator's name goes into every review decision's audit entry. */
export const useOperatorStore = defineStore('operator', () => {
  const name = ref(load())
  const asking = ref(name.value === '')

  function setName(v: string): void {
    const n = v.trim().slice(0, 200)
    if (!n) return
    name.value = n
    asking.value = false
    try {
      window.localStorage.setItem(KEY, n)
    } catch {
      // no storage: the name lasts for this session only
    }
  }

  return { name, asking, setName, ask: () => (asking.value = true), cancel: () => (asking.value = name.value === '') }
})
