// Browser mode with the real engine and a real ffmpeg camera: previews reach the page as binary
// WebSocket frames holding JPEG bytes, no JSON message carries a base64 image, and a client gets
// previews only for the cameras it watches.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/main/log/logger'
import { createBackend, type Backend } from '../../src/main/app/create-backend'
import { startServer, type RunningServer } from '../../src/main/server/server'
import type { PreviewFrame } from '../../src/shared/types'
import { dataPath, hasData, hasModels, MODELS_DIR, skipUnless } from '../support/data'
import { connect, type TestClient } from './ws-client'

const skip = skipUnless('previews over the WebSocket', [
  [hasData('video/short_hamilton_clip.mp4'), 'test data video/short_hamilton_clip.mp4 not found (set VIGIL_DATA)'],
  [hasModels(), 'models missing; run `npm run models`']
])

/** base64 runs long enough to be an image, or any data: URL */
const BASE64_IMAGE = /data:image\/|[A-Za-z0-9+/]{200,}={0,2}/

describe.skipIf(skip)('browser mode previews', () => {
  let dir: string
  let backend: Backend
  let server: RunningServer
  let client: TestClient
  const ids: string[] = []

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-wsprev-'))
    backend = await createBackend({
      dataDir: dir,
      mode: 'browser',
      modelsDir: MODELS_DIR,
      workers: 1,
      logger: silentLogger
    })
    // local files are cameras only below folders the admin listed
    await backend.handlers['settings.update']({ localVideoFolders: [dataPath('video')] })
    server = await startServer({ backend, staticDir: dir, port: 0, version: 'test', log: () => {} })
    for (const name of ['a', 'b'])
      ids.push(
        (
          await backend.cameras.create({
            name,
            url: dataPath('video/short_hamilton_clip.mp4'),
            loop: true,
            detectFps: 2
          })
        ).id
      )
    client = await connect(server.url)
  })

  afterAll(async () => {
    await client?.close()
    await server?.close()
    await backend?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('sends JPEG bytes in binary frames, never base64 in JSON, and only for watched cameras', async () => {
    const previews = (cam: string): PreviewFrame[] =>
      client.messages
        .filter((m) => m.kind === 'push' && m.channel === 'camera.preview')
        .map((m) => (m as { payload: PreviewFrame }).payload)
        .filter((p) => p.cameraId === cam)
    await client.next((m) => m.kind === 'push' && m.channel === 'camera.preview', 20_000)
    client.send({ kind: 'watch', cameraIds: [ids[0]] })
    await new Promise((r) => setTimeout(r, 500))
    const before = previews(ids[1]!).length
    await new Promise((r) => setTimeout(r, 2500))

    const mine = previews(ids[0]!)
    expect(mine.length).toBeGreaterThan(3)
    const jpeg = mine[mine.length - 1]!.jpeg
    expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8])
    expect(client.binaryFrames).toBeGreaterThan(3)
    // the unwatched camera's previews stopped
    expect(previews(ids[1]!).length - before).toBe(0)
    const overlaysOfOther = client.messages.filter(
      (m) =>
        m.kind === 'push' && m.channel === 'camera.overlay' && (m.payload as { cameraId: string }).cameraId === ids[1]
    ).length
    await new Promise((r) => setTimeout(r, 1000))
    expect(
      client.messages.filter(
        (m) =>
          m.kind === 'push' && m.channel === 'camera.overlay' && (m.payload as { cameraId: string }).cameraId === ids[1]
      ).length
    ).toBe(overlaysOfOther)

    const offending = client.texts.filter((t) => BASE64_IMAGE.test(t))
    expect(offending.map((t) => t.slice(0, 120))).toEqual([])
    console.log(
      `[ws] ${client.binaryFrames} binary preview frames (last ${jpeg.length} B), ${client.texts.length} JSON messages, none with base64`
    )
  }, 60_000)
})
