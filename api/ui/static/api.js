// The one door to the JSON API: every call carries the signed-in API key; a 401 signs the user out.
const KEY = "memstream.key";
const USER = "memstream.user";

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  get user() { return sessionStorage.getItem(USER) || ""; },
  set user(value) { sessionStorage.setItem(USER, value); },
  signIn(key) { sessionStorage.setItem(KEY, key); },
  signOut() { sessionStorage.removeItem(KEY); sessionStorage.removeItem(USER); },
};

export class ApiError extends Error {
  constructor(status, detail) { super(`${status}: ${detail}`); this.status = status; this.detail = detail; }
}

export async function call(method, path, { query, body, key } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    for (const one of [].concat(value)) if (one !== undefined && one !== null && one !== "") url.searchParams.append(name, one);
  }
  const headers = { Authorization: `Bearer ${key || session.key}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    if (response.status === 401 && !key) { session.signOut(); window.location.hash = "#/signin"; }
    throw new ApiError(response.status, payload.detail || response.statusText);
  }
  return payload;
}

// The user a page reads: the key's own user when it is user-bound, else the one typed at sign-in.
export function userQuery(me) { return me.user_id ? {} : { user_id: session.user }; }
