// One phone of the page: the handset (screen, entry, keypad) and what is around it.
import { api, element, clock } from "./api.js";
import { ScriptPanel } from "./script.js";

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
const NAV = /^(98|00)\. /;

export class Phone {
  constructor(root, config, msisdn, title) {
    this.root = root;
    this.config = config;
    this.view = null;
    this.queue = Promise.resolve();
    this.pending = 0;
    this.$ = (selector) => root.querySelector(selector);
    this.$(".phone-title").textContent = title;
    root.setAttribute("aria-label", title);
    this.entry = this.$(".entry");
    this.msisdn = this.$(".msisdn");
    this.dialect = this.$(".dialect");
    this.msisdn.value = msisdn;
    for (const name of config.dialects) {
      const option = element("option", "", name);
      option.value = name;
      this.dialect.append(option);
    }
    for (const key of KEYS) {
      const button = element("button", "key", key);
      button.type = "button";
      button.dataset.key = key;
      button.addEventListener("click", () => this.type(key));
      this.$(".keypad").append(button);
    }
    for (const shortcut of config.shortcuts) {
      const button = element("button", "shortcut", shortcut.code);
      button.type = "button";
      button.title = shortcut.label;
      button.setAttribute("aria-label", `Dial ${shortcut.code}: ${shortcut.label}`);
      button.addEventListener("click", () => this.dialCode(shortcut.code));
      this.$(".shortcuts").append(button);
    }
    this.$(".send").addEventListener("click", () => this.send());
    this.$(".cancel").addEventListener("click", () => this.cancel());
    this.$(".end").addEventListener("click", () => this.end());
    this.$(".backspace").addEventListener("click", () => {
      this.entry.value = this.entry.value.slice(0, -1);
      this.entry.focus();
    });
    this.entry.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        this.send();
      } else if (event.key === "Escape") {
        event.preventDefault();
        this.cancel();
      }
    });
    // Keys pressed while a keypad button has focus type too, as on a phone.
    this.$(".keypad").addEventListener("keydown", (event) => {
      if (KEYS.includes(event.key)) {
        event.preventDefault();
        this.type(event.key);
      }
    });
    this.msisdn.addEventListener("change", () => this.configure());
    this.dialect.addEventListener("change", () => this.configure());
    this.script = new ScriptPanel(this);
  }

  async start() {
    const view = await api("POST", "/api/phones", { msisdn: this.msisdn.value, dialect: this.dialect.value });
    this.show(view);
    await this.refresh();
    this.root.dataset.busy = "false";
  }

  get path() {
    return `/api/phones/${this.view.id}`;
  }

  type(key) {
    this.entry.value += key;
  }

  // One action at a time, in the order they were asked for (a quick double click sends two
  // hops, one after the other); data-busy is "false" once nothing is waiting and the screen,
  // the timeline, the inbox and the recording all show the last outcome.
  act(action) {
    this.pending += 1;
    this.root.dataset.busy = "true";
    const run = async () => {
      try {
        this.show(await action());
      } catch (error) {
        this.showError(error.message);
      }
      try {
        await this.refresh();
      } catch (error) {
        this.showError(error.message);
      }
    };
    this.queue = this.queue.then(run).finally(() => {
      this.pending -= 1;
      if (!this.pending) this.root.dataset.busy = "false";
    });
    return this.queue;
  }

  async configure() {
    await this.act(() => api("POST", `${this.path}/configure`, { msisdn: this.msisdn.value, dialect: this.dialect.value }));
    this.noteSubscriber();
  }

  async dialCode(code) {
    this.entry.value = "";
    await this.act(async () => {
      if (this.view.running) await api("POST", `${this.path}/end`);
      return api("POST", `${this.path}/dial`, { code });
    });
  }

  async send() {
    const typed = this.entry.value;
    // Cleared at once: a secret stays in the page no longer than it takes to send it.
    this.entry.value = "";
    await this.act(() => {
      if (this.view.running) return api("POST", `${this.path}/send`, { text: typed });
      if (typed.trim()) return api("POST", `${this.path}/dial`, { code: typed.trim() });
      return this.view;
    });
    this.entry.focus();
  }

  async cancel() {
    this.entry.value = "";
    await this.act(() => (this.view.running ? api("POST", `${this.path}/abort`) : this.view));
  }

  async end() {
    this.entry.value = "";
    await this.act(() => api("POST", `${this.path}/end`));
  }

  noteSubscriber() {
    const known = this.config.subscribers.find((s) => s.msisdn === this.msisdn.value.trim());
    this.$(".subscriber-note").textContent = known ? known.label : "";
  }

  show(view) {
    this.view = view;
    this.msisdn.value = view.msisdn;
    this.dialect.value = view.dialect;
    this.noteSubscriber();
    const screen = view.screen;
    const text = this.$(".screen-text");
    text.replaceChildren();
    this.root.dataset.state = view.running ? "running" : screen ? (screen.ends ? "ended" : "cancelled") : "idle";
    if (screen) {
      for (const line of screen.text.split("\n")) {
        const row = element("div", NAV.test(line) ? "line nav-key" : "line", line || "\u00a0");
        text.append(row);
      }
      const encoding = this.$(".encoding");
      encoding.textContent = screen.label.replace(/^\[|\]$/g, ""); // the server's, as the terminal's status line
      encoding.classList.toggle("over", !screen.fits);
      if (!screen.fits) encoding.textContent += ` · ${screen.length - screen.limit} over the limit!`;
    } else {
      text.append(element("div", "idle", `${view.msisdn}\nDial a code, or pick a shortcut.`));
      this.$(".encoding").textContent = "";
    }
    const pageInfo = [];
    if (view.page) pageInfo.push(`page ${view.page}`);
    if (screen && screen.more) pageInfo.push("98 more");
    if (screen && screen.back) pageInfo.push("00 back");
    this.$(".page-info").textContent = pageInfo.join(" · ");
    const states = { running: "CON: answer", ended: "END: session over", cancelled: "cancelled", idle: "idle" };
    this.$(".session-state").textContent = states[this.root.dataset.state];
    this.$(".screen-error").textContent = view.error ? `USSD error: ${view.error}` : "";
    // A secret prompt: the entry hides what is typed and the browser keeps nothing of it.
    this.entry.type = view.secret ? "password" : "text";
    this.$(".secret-note").hidden = !view.secret;
    this.$(".send").textContent = view.running ? "Send" : "Dial";
  }

  showError(message) {
    this.$(".screen-error").textContent = message;
  }

  async refresh() {
    if (!this.view) return;
    await Promise.all([this.refreshTimeline(), this.refreshInbox(), this.script.refreshRecording()]);
  }

  async refreshTimeline() {
    const { hops } = await api("GET", `${this.path}/timeline`);
    const list = this.$(".timeline");
    list.replaceChildren();
    for (const hop of hops.slice().reverse()) {
      const item = element("li", `hop ${hop.outcome === "end" || hop.outcome === "continue" || hop.outcome === "aborted" ? "" : "bad"}`);
      const details = element("details");
      const status = hop.reply.status ? `${hop.reply.status}` : "no reply";
      details.append(element("summary", "", `#${hop.n} ${hop.op} → ${status} ${hop.outcome} · ${hop.ms} ms · ${clock(hop.at)}`));
      const request = [`${hop.request.method} ${hop.request.url}`, ...hop.request.headers.map(([k, v]) => `${k}: ${v}`), "", hop.request.body];
      const reply = [`${status} ${hop.reply.reason}`, ...hop.reply.headers.map(([k, v]) => `${k}: ${v}`), "", hop.reply.body];
      details.append(element("pre", "wire request", request.join("\n")));
      details.append(element("pre", "wire reply", reply.join("\n")));
      item.append(details);
      list.append(item);
    }
  }

  async refreshInbox() {
    const found = await api("GET", `${this.path}/inbox`);
    const list = this.$(".inbox");
    list.replaceChildren();
    this.$(".inbox-note").textContent = found.available ? "" : found.message;
    const messages = found.messages || [];
    this.$(".inbox-count").textContent = found.available ? `(${messages.length} for ${this.view.msisdn})` : "";
    for (const sms of messages) {
      const item = element("li", "sms");
      item.append(element("div", "sms-meta", `#${sms.n} from ${sms.from || "?"} · ${sms.encoding === "ucs2" ? "UCS-2" : "GSM-7"}, ${sms.segments} SMS · ${clock(sms.at)}`));
      item.append(element("div", "sms-text", sms.text));
      list.append(item);
    }
  }
}
