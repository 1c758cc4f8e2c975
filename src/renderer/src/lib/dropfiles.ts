// Drag-and-drop of whole folders: the DataTransfer only lists top-level entries, so directories are
// walked through the (Chromium/Electron) FileSystemEntry API.

function readAllEntries(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => {
    const out: FileSystemEntry[] = []
    // readEntries returns at most ~100 entries per call; keep calling until it returns none.
    const next = (): void =>
      reader.readEntries((batch) => {
        if (batch.length === 0) resolve(out)
        else {
          out.push(...batch)
          next()
        }
      }, reject)
    next()
  })
}

function entryFile(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject))
}

async function walk(entry: FileSystemEntry, out: File[], depth: number): Promise<void> {
  if (entry.isFile) out.push(await entryFile(entry as FileSystemFileEntry))
  else if (entry.isDirectory && depth < 8) {
    const children = await readAllEntries((entry as FileSystemDirectoryEntry).createReader())
    for (const c of children) await walk(c, out, depth + 1)
  }
}

/** All files dropped, folders expanded; `fromFolder` tells whether any folder was among them. */
export async function filesFromDrop(dt: DataTransfer): Promise<{ files: File[]; fromFolder: boolean }> {
  const items = Array.from(dt.items ?? [])
  const entries = items
    .map((i) => (typeof i.webkitGetAsEntry === 'function' ? i.webkitGetAsEntry() : null))
    .filter((e): e is FileSystemEntry => e !== null)
  if (!entries.length) return { files: Array.from(dt.files ?? []), fromFolder: false }
  const files: File[] = []
  for (const e of entries) await walk(e, files, 0)
  return { files, fromFolder: entries.some((e) => e.isDirectory) }
}
