// Fragmented MP4 for live video: a real ffmpeg -c copy stream is cut into one init segment and
// moof+mdat fragments, whatever the chunking, and the MSE type is read from the init segment.
import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { locateFfmpeg } from '../../src/main/cameras/ffmpeg'
import { mimeOfInit, Mp4Fragmenter } from '../../src/main/cameras/remux'
import { dataPath, hasData } from '../support/data'

describe.skipIf(!hasData('video/short_hamilton_clip.mp4'))('Mp4Fragmenter', () => {
  const ff = spawnSync(
    locateFfmpeg().path,
    [
      '-v',
      'error',
      '-i',
      dataPath('video/short_hamilton_clip.mp4'),
      '-t',
      '3',
      '-map',
      '0:v:0',
      '-c:v',
      'copy',
      '-f',
      'mp4',
      '-movflags',
      'frag_keyframe+empty_moov+default_base_moof',
      '-frag_duration',
      '250000',
      'pipe:1'
    ],
    { maxBuffer: 64 << 20 }
  )
  const stream = ff.stdout

  it('yields the init segment once, then whole fragments, for any chunking', () => {
    for (const chunk of [7, 1000, 65536, stream.length]) {
      const f = new Mp4Fragmenter()
      const pieces = []
      for (let o = 0; o < stream.length; o += chunk) pieces.push(...f.push(stream.subarray(o, o + chunk)))
      expect(pieces[0]!.kind).toBe('init')
      expect(pieces.filter((p) => p.kind === 'init')).toHaveLength(1)
      const frags = pieces.filter((p) => p.kind === 'fragment')
      // 3 s in 250 ms fragments
      expect(frags.length).toBeGreaterThanOrEqual(8)
      for (const p of frags) expect(p.bytes.toString('latin1', 4, 8)).toBe('moof')
      // everything but the closing index box (mfra) ffmpeg writes at the end of a finished file
      const lost = stream.length - pieces.reduce((n, p) => n + p.bytes.length, 0)
      expect(stream.toString('latin1', stream.length - lost + 4, stream.length - lost + 8)).toBe('mfra')
    }
  })

  it('reads the H.264 profile and level for MSE', () => {
    const init = new Mp4Fragmenter().push(stream).find((p) => p.kind === 'init')!
    expect(mimeOfInit(init.bytes).mime).toMatch(/^video\/mp4; codecs="avc1\.[0-9a-f]{6}"$/)
  })

  it('refuses a stream that is not MP4', () => {
    expect(() => new Mp4Fragmenter().push(Buffer.from('\0\0\0\x02junkjunkjunk'))).toThrow(/bad MP4 box/)
  })
})
