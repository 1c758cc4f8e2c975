import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { ReviewAction, ReviewItem } from '@shared/types'
import { useApi } from '../api'
import { errorText, toApiError } from '../lib/errors'
import { replaceById } from '../lib/list'
import { conflictText, decisionText } from '../lib/review'
import { useOperatorStore } from './operator'
import { usePeopleStore } from './people'
import { useToastStore } from './toasts'

export interface Decision {
  action: ReviewAction
  personId?: string
  newPersonName?: string
}

export interface ReviewNotice {
  kind: 'conflict' | 'error'
  text: string
}

const GALLERY_KEY = 'vigil.review.addToGallery'

const newestFirst = (a: ReviewItem, b: ReviewItem): number => b.createdAt - a.createdAt

function loadPref(): boolean {
  try {
    return window.localStorage.getItem(GALLERY_KEY) !== 'false'
  } catch {
    return true
  }
}

export const useReviewStore = defineStore('review', () => {
  /** pending items, plus cards that lost a decision race (kept, with their notice, until dismissed) */
  const items = ref<ReviewItem[]>([])
  const pending = ref(0)
  const loaded = ref(false)
  const notices = ref<Record<string, ReviewNotice>>({})
  const busy = ref<Record<string, boolean>>({})
  /** this operator's decisions in this session, newest last: what U undoes */
  const history = ref<{ itemId: string; text: string; toastId: number }[]>([])
  const addToGallery = ref(loadPref())

  function setAddToGallery(v: boolean): void {
    addToGallery.value = v
    try {
      window.localStorage.setItem(GALLERY_KEY, String(v))
    } catch {
      // preference lasts for this session only
    }
  }

  async function load(): Promise<void> {
    try {
      const list = await useApi().reviewList({ status: 'pending', byGroup: true })
      const kept = items.value.filter((i) => notices.value[i.id] && !list.some((l) => l.id === i.id))
      items.value = [...list, ...kept].sort(newestFirst)
      // a card may stand for several items of one face: the count is of items, as the header's
      pending.value = list.reduce((n, c) => n + (c.groupCount ?? 1), 0)
      loaded.value = true
    } catch (e) {
      useToastStore().error(e, 'Could not load the review queue')
    }
  }

  function replace(item: ReviewItem): void {
    if (!replaceById(items.value, item)) items.value = [...items.value, item].sort(newestFirst)
  }

  function operatorName(): string | null {
    const op = useOperatorStore()
    if (!op.name) {
      op.ask()
      useToastStore().info('Enter your operator name first: it is recorded with every decision.')
      return null
    }
    return op.name
  }

  async function refreshAfterConflict(itemId: string, err: ReturnType<typeof toApiError>): Promise<void> {
    let current: ReviewItem | null = null
    try {
      current = (await useApi().reviewList({})).find((i) => i.id === itemId) ?? null
    } catch {
      // keep the old card; the notice still explains what happened
    }
    if (current) replace(current)
    notices.value = { ...notices.value, [itemId]: { kind: 'conflict', text: conflictText(err, current) } }
    // The pending count moved under us too; load() keeps this card (it has a notice).
    void load()
  }

  async function decide(item: ReviewItem, d: Decision): Promise<ReviewItem | null> {
    const operator = operatorName()
    if (!operator || busy.value[item.id]) return null
    busy.value = { ...busy.value, [item.id]: true }
    try {
      const res = await useApi().reviewDecide({
        itemId: item.id,
        version: item.version,
        action: d.action,
        operator,
        personId: d.personId,
        newPersonName: d.newPersonName,
        addToGallery: d.action === 'reject' ? undefined : addToGallery.value
      })
      items.value = items.value.filter((i) => i.id !== item.id)
      const { [item.id]: _gone, ...rest } = notices.value
      notices.value = rest
      // one decision resolved the whole group: the engine's count is the truth, not a local guess
      if ((item.groupCount ?? 1) > 1) void load()
      else pending.value = Math.max(0, pending.value - 1)
      const people = usePeopleStore()
      // A new person was created by the engine: fetch the list so pickers show them.
      if (d.action === 'newPerson') void people.load()
      const text = decisionText(res, (id) => people.byId.get(id)?.name ?? d.newPersonName ?? null)
      const toastId = useToastStore().success(`${text}.`, { label: 'Undo (U)', run: () => void undo() })
      history.value.push({ itemId: item.id, text, toastId })
      return res
    } catch (e) {
      const err = toApiError(e)
      if (err.code === 'conflict') await refreshAfterConflict(item.id, err)
      else
        notices.value = {
          ...notices.value,
          [item.id]: { kind: 'error', text: errorText(err, 'Could not save the decision') }
        }
      return null
    } finally {
      const { [item.id]: _done, ...restBusy } = busy.value
      busy.value = restBusy
    }
  }

  async function undo(): Promise<void> {
    const operator = operatorName()
    if (!operator) return
    const last = history.value.pop()
    if (!last) {
      useToastStore().info('Nothing to undo: you have not decided anything in this session.')
      return
    }
    // Its "Undo" button would now undo the decision before it.
    useToastStore().dismiss(last.toastId)
    try {
      const item = await useApi().reviewUndo({ itemId: last.itemId, operator })
      if (item.status === 'pending') {
        replace(item)
        pending.value++
      }
      useToastStore().info(`Undone: ${last.text}.`)
    } catch (e) {
      useToastStore().error(e, `Could not undo "${last.text}"`)
    }
  }

  function dismissNotice(itemId: string): void {
    const { [itemId]: _gone, ...rest } = notices.value
    notices.value = rest
    items.value = items.value.filter((i) => i.id !== itemId || i.status === 'pending')
  }

  return {
    items,
    pending,
    loaded,
    notices,
    busy,
    history,
    addToGallery,
    setAddToGallery,
    load,
    decide,
    undo,
    dismissNotice,
    setPending: (n: number) => (pending.value = n)
  }
})
