// A tiny element builder: h("td", {class: "x"}, "text", child). Text is always set as text, never as HTML,
// so a memory's words cannot become markup.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

export function show(...children) {
  const page = document.getElementById("page");
  page.replaceChildren(...children);
}

export const when = (iso) => (iso ? new Date(iso).toISOString().replace("T", " ").slice(0, 19) + "Z" : "—");
export const errorBox = (error) => h("p", { class: "error", role: "alert" }, error.detail || String(error));
