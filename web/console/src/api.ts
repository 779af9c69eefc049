// The admin API, as the console calls it: JSON in and out; a refusal becomes a Problem with the fields it names
// (the API answers application/problem+json: {title, status, detail, errors: [{field, message}]}).
import { credential } from "./auth";
import { config } from "./config";

export interface FieldError {
  field: string;
  message: string;
}

export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: FieldError[] = [],
  ) {
    super(detail || title);
  }
}

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

let onUnauthorized: () => void = () => {};
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

export async function request<T = unknown>(
  method: Method,
  path: string,
  body?: unknown,
  options: { contentType?: string; raw?: boolean } = {},
): Promise<T> {
  const headers: Record<string, string> = {};
  const token = credential();
  if (token) headers.authorization = `Bearer ${token}`;
  let payload: BodyInit | undefined;
  if (body !== undefined) {
    headers["content-type"] = options.contentType ?? "application/json";
    payload = typeof body === "string" || body instanceof Blob ? body : JSON.stringify(body);
  }
  const response = await fetch(config().apiUrl + path, { method, headers, body: payload });
  if (response.status === 401) onUnauthorized();
  const text = await response.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!response.ok) {
    const problem = (parsed && typeof parsed === "object" ? parsed : {}) as Partial<{
      title: string;
      detail: string;
      errors: FieldError[];
      message: string;
    }>;
    throw new Problem(
      response.status,
      problem.title ?? response.statusText ?? "Error",
      problem.detail ?? problem.message ?? (typeof parsed === "string" ? parsed : ""),
      Array.isArray(problem.errors) ? problem.errors : [],
    );
  }
  return parsed as T;
}

export const api = {
  get: <T = unknown>(path: string) => request<T>("GET", path),
  post: <T = unknown>(path: string, body?: unknown) => request<T>("POST", path, body ?? {}),
  put: <T = unknown>(path: string, body: unknown) => request<T>("PUT", path, body),
  patch: <T = unknown>(path: string, body: unknown) => request<T>("PATCH", path, body),
  delete: <T = unknown>(path: string) => request<T>("DELETE", path),
};

/** A query string from the defined values only. */
export function query(values: Record<string, string | number | boolean | undefined | null>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  const text = params.toString();
  return text ? `?${text}` : "";
}
