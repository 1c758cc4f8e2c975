// The open-set rule lives in src/shared so Settings can explain it with the same numbers.
export * from '../../shared/open-set'
