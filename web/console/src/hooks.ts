import { useCallback, useEffect, useRef, useState } from "react";

import { api } from "./api";

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/** GET a path (null: nothing yet) and keep its answer; `reload()` asks again. */
export function useApi<T>(path: string | null): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<Error>();
  const [loading, setLoading] = useState(Boolean(path));
  const [round, setRound] = useState(0);
  const current = useRef(0);
  useEffect(() => {
    if (!path) {
      setLoading(false);
      return;
    }
    const ticket = ++current.current;
    setLoading(true);
    api
      .get<T>(path)
      .then((found) => {
        if (ticket !== current.current) return;
        setData(found);
        setError(undefined);
      })
      .catch((failed: Error) => {
        if (ticket === current.current) setError(failed);
      })
      .finally(() => {
        if (ticket === current.current) setLoading(false);
      });
  }, [path, round]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { data, error, loading, reload };
}

/** Run an action (save, publish…) and keep its error and whether it is running. */
export function useAction<A extends unknown[], R>(action: (...args: A) => Promise<R>) {
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<Error>();
  const run = useCallback(
    async (...args: A): Promise<R | undefined> => {
      setRunning(true);
      setError(undefined);
      try {
        return await action(...args);
      } catch (failed) {
        setError(failed as Error);
        return undefined;
      } finally {
        setRunning(false);
      }
    },
    [action],
  );
  return { run, running, error, clearError: () => setError(undefined) };
}
