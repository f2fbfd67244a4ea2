// Small DOM and API helpers shared by the pages. Catalog text is only ever set with
// textContent (never innerHTML), so a product called "<script>" shows as text.

export function el(tag, options = {}, children = []) {
  const node = document.createElement(tag);
  if (options.className) node.className = options.className;
  if (options.text !== undefined && options.text !== null) node.textContent = String(options.text);
  for (const [name, value] of Object.entries(options.attrs || {})) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

// the pieces of evidence an answer rests on, each with where it came from (null: none)
export function evidenceList(evidence) {
  if (!evidence || !evidence.length) return null;
  return el("ul", { className: "evidence-list" }, evidence.map((piece) =>
    el("li", {}, [el("span", { className: "badge", text: piece.source }), " ", el("q", { text: piece.text })])));
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function byId(id) {
  return document.getElementById(id);
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute("content") : null;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// fetch JSON from the API; errors become ApiError with the server's code and message
export async function api(path, { method = "GET", json, form, query } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (Array.isArray(value)) value.forEach((v) => url.searchParams.append(name, v));
    else if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json" };
  const token = csrfToken();
  if (token && method !== "GET") headers["X-CSRFToken"] = token;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  const response = await fetch(url, { method, headers, body, credentials: "same-origin" });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || "E000", error.message || response.statusText);
  }
  return data;
}

export function formatPrice(price, currency) {
  if (price === null || price === undefined) return "";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "USD" }).format(price);
  } catch {
    return `${price.toFixed(2)} ${currency || ""}`.trim();
  }
}
