// The HTTP API as the console uses it: the key from this tab's sessionStorage as a Bearer token,
// JSON (or CSV) answers, errors as ApiError. A 401 forgets the key and tells the app to sign in.
const KEY = "mp.key";

export class ApiError extends Error {
  constructor(status, body, path) {
    const error = body && typeof body === "object" ? body.error || body : null;
    super((error && (error.message || error.Message)) || (typeof body === "string" && body) || `HTTP ${status}`);
    this.status = status;
    this.code = error && error.code;
    this.fields = (error && error.fields) || null;
    this.path = path;
  }
}

export function key() {
  return sessionStorage.getItem(KEY);
}

export function setKey(value) {
  sessionStorage.setItem(KEY, value.trim());
}

export function forgetKey() {
  sessionStorage.removeItem(KEY);
}

// The API's base: the console is served at {api}/console.
function url(path, params) {
  const target = new URL(path.replace(/^\//, ""), new URL(".", location.href));
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") target.searchParams.set(name, value);
  }
  return target;
}

const RETRIES = 4;

function retryDelay(response, attempt) {
  const after = Number(response.headers.get("Retry-After"));
  const backoff = 400 * 2 ** attempt * (0.75 + Math.random() / 2);
  return Math.min(Number.isFinite(after) && after > 0 ? after * 1000 : backoff, 5000);
}

// GET path → {body, next}: the answer (parsed JSON, or text for CSV) and the next page's cursor.
export async function get(path, params, { accept = "application/json" } = {}) {
  let response;
  for (let attempt = 0; ; attempt++) {
    try {
      response = await fetch(url(path, params), {
        headers: { Authorization: `Bearer ${key() || ""}`, Accept: accept },
        cache: "no-store",
        credentials: "omit",
      });
    } catch (error) {
      throw new ApiError(0, { error: { message: String(error && error.message ? error.message : error) } }, path);
    }
    // Throttled (API Gateway's 429, a busy local stack's 429/503): wait and ask again, a few times.
    if (![429, 503].includes(response.status) || attempt >= RETRIES) break;
    await new Promise((resolve) => setTimeout(resolve, retryDelay(response, attempt)));
  }
  const type = response.headers.get("Content-Type") || "";
  const text = await response.text();
  let body = text;
  if (type.includes("json") && text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (response.status === 401) {
    forgetKey();
    window.dispatchEvent(new CustomEvent("mp:unauthorized"));
  }
  if (!response.ok) throw new ApiError(response.status, body, path);
  return { body, next: response.headers.get("X-Next-Cursor") };
}
