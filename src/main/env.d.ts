// What Vite compiles into the main-process bundle (electron-vite). Undefined when the engine runs
// unbundled (tsx, tests), which counts as "not a development build".
interface ImportMetaEnv {
  readonly DEV?: boolean
}
interface ImportMeta {
  readonly env?: ImportMetaEnv
}
