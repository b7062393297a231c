// The dashboard's router: #/signin, #/memories, #/memory/<id>, #/search, #/core, #/conversation/<id>, #/pipeline. Each page is a module exporting
// render(me, ...args), where me is the caller as GET /v1/whoami answers (app, user, scopes).
import { call, session } from "/ui/api.js";
import { h, show, errorBox } from "/ui/dom.js";
import { renderMemories } from "/ui/pages/memories.js";
import { renderMemory } from "/ui/pages/memory.js";
import { renderSearch } from "/ui/pages/search.js";
import { renderCore, renderConversation } from "/ui/pages/core.js";
import { renderPipeline } from "/ui/pages/pipeline.js";

const ROUTES = {
  memories: renderMemories, memory: renderMemory, search: renderSearch, core: renderCore, conversation: renderConversation,
  pipeline: renderPipeline,
};

function renderSignIn(message) {
  document.getElementById("nav").hidden = true;
  document.getElementById("who").textContent = "";
  const key = h("input", { id: "api-key", type: "password", required: true, autocomplete: "off", size: 40 });
  const user = h("input", { id: "user-id", placeholder: "needed for an app-wide key" });
  const form = h("form", { class: "signin", id: "signin" },
    h("label", {}, "API key", key),
    h("label", {}, "User", user),
    h("button", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const me = await call("GET", "/v1/whoami", { key: key.value.trim() });
      if (!me.user_id && me.app_id !== null && !user.value.trim()) throw new Error("this key is app-wide: name a user");
      session.signIn(key.value.trim());
      session.user = me.user_id || user.value.trim();
      window.location.hash = "#/memories";
    } catch (error) {
      show(h("h1", {}, "Sign in"), errorBox(error), form);
    }
  });
  show(h("h1", {}, "Sign in"), message ? errorBox({ detail: message }) : "", form,
    h("p", { class: "muted" }, "The key stays in this tab (session storage) and is sent only to this API."));
}

async function route() {
  const [name, ...args] = (window.location.hash.replace(/^#\/?/, "") || "memories").split("/");
  if (!session.key || name === "signin") return renderSignIn();
  let me;
  try {
    me = await call("GET", "/v1/whoami");
  } catch (error) {
    session.signOut();
    return renderSignIn(error.detail);
  }
  document.getElementById("nav").hidden = false;
  const signOut = h("button", { class: "secondary", id: "sign-out", onclick: () => { session.signOut(); route(); } }, "Sign out");
  document.getElementById("who").replaceChildren(
    `${me.app_id ?? "every app"} · ${me.user_id || session.user} · ${me.scopes.join(", ")} `, signOut);
  const render = ROUTES[name];
  if (!render) return show(h("h1", {}, "Not found"), h("p", { class: "empty" }, `No page called “${name}”.`));
  try {
    await render(me, ...args.map(decodeURIComponent));
  } catch (error) {
    show(h("h1", {}, "Something went wrong"), errorBox(error));
  }
}

window.addEventListener("hashchange", route);
route();
