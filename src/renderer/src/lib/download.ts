/** Saves text as a file through the browser's download flow (works in Electron and browser mode alike). */
export function downloadText(fileName: string, text: string, mime = 'text/csv;charset=utf-8'): void {
  // BOM so spreadsheet programs open UTF-8 names (é, ü, …) correctly.
  const blob = new Blob(['\ufeff', text], { type: mime })
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = fileName
  a.rel = 'noopener'
  document.body.appendChild(a)
  a.click()
  a.remove()
  // Revoke later: some engines start the download asynchronously after click().
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

export function stampForFile(ms: number): string {
  const d = new Date(ms)
  const p = (n: number): string => String(n).padStart(2, '0')
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}`
}
