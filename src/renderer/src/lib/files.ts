// Checks done before an upload so the operator gets instant feedback and the engine is spared
// obviously wrong files. The engine checks again; these are only the cheap cases.

/** Same limit the API schema enforces (40 MB of base64 ≈ 30 MB of image). */
export const MAX_UPLOAD_BYTES = 30 * 1024 * 1024

const IMAGE_EXT = /\.(jpe?g|jfif|png|webp|gif|bmp|tiff?|avif|heic|heif)$/i

export interface FileLike {
  name: string
  size: number
  type: string
}

export function looksLikeImage(f: FileLike): boolean {
  if (f.type) return f.type.startsWith('image/')
  return IMAGE_EXT.test(f.name)
}

export type PrecheckError = { code: 'bad_image' | 'too_large'; message: string }

export function precheckFile(f: FileLike): PrecheckError | null {
  if (!looksLikeImage(f)) return { code: 'bad_image', message: 'Not an image file.' }
  if (f.size === 0) return { code: 'bad_image', message: 'The file is empty.' }
  if (f.size > MAX_UPLOAD_BYTES) {
    return { code: 'too_large', message: `Too large: ${(f.size / 1024 / 1024).toFixed(1)} MB (limit 30 MB).` }
  }
  return null
}

/** Folder imports contain thumbnails databases, sidecars, etc.: keep images, count the rest. */
export function splitImages<T extends FileLike>(files: T[]): { images: T[]; skipped: number } {
  const images = files.filter((f) => looksLikeImage(f) && !f.name.startsWith('.'))
  return { images, skipped: files.length - images.length }
}

/** Base64 of a file without the data-URL prefix (what AddPhotoInput.dataBase64 expects). */
export function fileToBase64(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader()
    reader.onerror = () => reject(new Error('Could not read the file.'))
    reader.onload = () => {
      const s = typeof reader.result === 'string' ? reader.result : ''
      const comma = s.indexOf(',')
      resolve(comma >= 0 ? s.slice(comma + 1) : '')
    }
    reader.readAsDataURL(blob)
  })
}
