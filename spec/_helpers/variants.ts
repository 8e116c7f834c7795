/**
 * Forcing one kernel implementation for a block of a spec (`setConvVariant`, `setReduceVariant`,
 * … in src/backend/cpu), always putting back the one in force before, even when the block throws.
 */
export function withSetting<V, T>(get: () => V, set: (value: V) => void, value: V, body: () => T): T {
  const before = get();
  set(value);
  try {
    return body();
  } finally {
    set(before);
  }
}
