import { onMounted, onScopeDispose, ref, type Ref } from 'vue'

/** Content-box size of an element, kept current with a ResizeObserver. */
export function useElementSize(el: Readonly<Ref<HTMLElement | null>>): { width: Ref<number>; height: Ref<number> } {
  const width = ref(0)
  const height = ref(0)
  let ro: ResizeObserver | null = null
  const measure = (): void => {
    const e = el.value
    if (!e) return
    width.value = e.clientWidth
    height.value = e.clientHeight
  }
  onMounted(() => {
    measure()
    if (typeof ResizeObserver !== 'undefined' && el.value) {
      ro = new ResizeObserver(measure)
      ro.observe(el.value)
    }
  })
  onScopeDispose(() => ro?.disconnect())
  return { width, height }
}
