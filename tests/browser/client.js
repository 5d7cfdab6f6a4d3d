// A web app's use of cmgraph from another origin, signed in by the session cookie.
// The cmgraph server is ?api=<base URL>. Plain JS: fetch for HTTP, and the few messages of
// graphql-transport-ws (the protocol graphql-ws's client speaks) over a WebSocket.
"use strict";

const API = new URLSearchParams(location.search).get("api");
const CSRF = { "X-CMGraph-CSRF": "1" };

async function answer(response) {
  const text = await response.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, body };
}

window.cmgraph = {
  /** POST /auth/login: the answer sets the session cookie for the API's host. */
  async login(email, password) {
    const response = await fetch(`${API}/auth/login`, {
      method: "POST",
      credentials: "include",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email, password }),
    });
    return answer(response);
  },

  /** A query or mutation: POST with the cookie and the CSRF header. */
  async graphql(query, variables = {}, headers = CSRF) {
    const response = await fetch(`${API}/graphql`, {
      method: "POST",
      credentials: "include",
      headers: { "Content-Type": "application/json", ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return answer(response);
  },

  /** A query as a plain GET with the cookie (reads need no CSRF header). */
  async read(query) {
    const url = `${API}/graphql?query=${encodeURIComponent(query)}`;
    return answer(await fetch(url, { credentials: "include" }));
  },

  /** An evidence file for an action: multipart, actionId before file. */
  async upload(actionId, name, text) {
    const form = new FormData();
    form.append("actionId", actionId);
    form.append("file", new File([text], name, { type: "text/plain" }));
    const response = await fetch(`${API}/evidence/upload`, {
      method: "POST",
      credentials: "include",
      headers: CSRF,
      body: form,
    });
    return answer(response);
  },

  /** Follow a signed download link as a plain GET. */
  async download(url) {
    const response = await fetch(url);
    return { status: response.status, text: await response.text() };
  },

  /** Run ``call`` (a name above) and report whether the browser let the page see an answer. */
  async attempt(call, ...args) {
    try {
      return { ok: true, value: await this[call](...args) };
    } catch (error) {
      return { ok: false, error: String(error) };
    }
  },

  // -- subscriptions ----------------------------------------------------------------------

  socket: null,
  received: {}, // subscription id -> the ``data`` of each ``next`` message
  problems: [], // ``error`` messages, and the socket's close code when it closes
  nextId: 0,

  /**
   * Open the socket and send an empty connection_init: the upgrade's cookie signs it in.
   * Resolves with what happened: acknowledged, or the socket closed (never opened when the
   * server refused the upgrade).
   */
  connect() {
    return new Promise((resolve) => {
      const ws = new WebSocket(`${API.replace(/^http/, "ws")}/graphql`, "graphql-transport-ws");
      let opened = false;
      let acknowledged = false;
      ws.onopen = () => {
        opened = true;
        ws.send(JSON.stringify({ type: "connection_init", payload: {} }));
      };
      ws.onmessage = (event) => {
        const message = JSON.parse(event.data);
        if (message.type === "connection_ack") {
          acknowledged = true;
          this.socket = ws;
          resolve({ acknowledged, opened });
        } else if (message.type === "ping") {
          ws.send(JSON.stringify({ type: "pong" }));
        } else if (message.type === "next") {
          (this.received[message.id] ??= []).push(message.payload.data);
        } else if (message.type === "error") {
          this.problems.push({ id: message.id, errors: message.payload });
        }
      };
      ws.onclose = (event) => {
        this.problems.push({ closed: event.code });
        if (!acknowledged) resolve({ acknowledged, opened, code: event.code });
      };
    });
  },

  subscribe(query, variables = {}) {
    const id = String(++this.nextId);
    this.received[id] = [];
    this.socket.send(JSON.stringify({ id, type: "subscribe", payload: { query, variables } }));
    return id;
  },
};
