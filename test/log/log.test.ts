import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { consoleLine, createLogger, logFilePath } from '../../src/main/log/pino'
import { redactFields } from '../../src/main/log/redact'
import { RotatingFile, rotationSteps } from '../../src/main/log/rotating-file'

const dirs: string[] = []
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'vigil-log-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('rotationSteps', () => {
  it('shifts the copies oldest first and drops the last', () => {
    expect(rotationSteps('v.log', 3)).toEqual({
      drop: 'v.log.3',
      moves: [
        ['v.log.2', 'v.log.3'],
        ['v.log.1', 'v.log.2'],
        ['v.log', 'v.log.1']
      ]
    })
  })
})

describe('RotatingFile', () => {
  it('never lets the live file pass maxBytes and keeps `keep` copies', () => {
    const file = join(tmp(), 'logs', 'v.log')
    const f = new RotatingFile(file, { maxBytes: 100, keep: 2 })
    for (let i = 0; i < 20; i++) f.write(`line ${String(i).padStart(2, '0')} ${'x'.repeat(30)}\n`)
    f.close()
    expect(readFileSync(file).length).toBeLessThanOrEqual(100)
    expect(existsSync(`${file}.1`)).toBe(true)
    expect(existsSync(`${file}.2`)).toBe(true)
    expect(existsSync(`${file}.3`)).toBe(false)
    expect(readFileSync(file, 'utf8')).toContain('line 19')
  })
})

describe('redaction', () => {
  it('hides secret keys and URL credentials at any depth, without touching the input', () => {
    const input = { camera: { url: 'rtsp://admin:hunter2@10.0.0.5/s', password: 'p' }, token: 't', n: 3 }
    expect(redactFields(input)).toEqual({
      camera: { url: 'rtsp://***@10.0.0.5/s', password: '[redacted]' },
      token: '[redacted]',
      n: 3
    })
    expect(input.camera.password).toBe('p')
  })
})

describe('createLogger', () => {
  it('writes JSON lines to the data dir and readable lines to the console, both redacted', () => {
    const dir = tmp()
    const out: string[] = []
    const { logger, file, close } = createLogger({
      dataDir: dir,
      level: 'info',
      consoleStream: { write: (s) => out.push(s) }
    })
    expect(file).toBe(logFilePath(dir))
    const store = logger.child({ box: 'store' })
    store.warn('opened rtsp://u:secret@cam/x')
    store.error({ err: new Error('failed for http://TOKEN@host/'), token: 'abc' }, 'boom')
    logger.debug('not at info')
    close()
    const lines = readFileSync(logFilePath(dir), 'utf8').trim().split('\n')
    expect(lines).toHaveLength(2)
    const rec = JSON.parse(lines[1]!) as { box: string; msg: string; token: string; err: { message: string } }
    expect(rec).toMatchObject({ box: 'store', msg: 'boom', token: '[redacted]' })
    expect(rec.err.message).toBe('failed for http://***@host/')
    const text = out.join('') + lines.join('\n')
    expect(text).not.toMatch(/secret|TOKEN|abc/)
    expect(out[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN \[store\] opened rtsp:\/\/\*\*\*@cam\/x\n$/)
  })

  it('console only when there is no data dir', () => {
    const out: string[] = []
    const { file, logger } = createLogger({ dataDir: null, consoleStream: { write: (s) => out.push(s) } })
    logger.info('hello')
    expect(file).toBeNull()
    expect(out).toHaveLength(1)
  })

  it('leaves a line it cannot parse as it is', () => {
    expect(consoleLine('not json')).toBe('not json')
  })
})
