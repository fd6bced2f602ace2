// Record and replay: the phone's dialogue as a `ussd-handset --script` file, and a script
// run in the page step by step with the terminal runner's checks (on the server).
import { api, element } from "./api.js";

export class ScriptPanel {
  constructor(phone) {
    this.phone = phone;
    const $ = phone.$;
    this.$ = $;
    $(".save-script").addEventListener("click", () => this.save());
    $(".restart-recording").addEventListener("click", () => this.restart());
    $(".load-script").addEventListener("click", () => this.loadChosen());
    $(".script-file").addEventListener("change", (event) => this.loadFile(event.target));
    $(".replay-step").addEventListener("click", () => this.step());
    $(".replay-all").addEventListener("click", () => this.runAll());
    this.refreshChoices();
  }

  async refreshRecording() {
    const recording = await api("GET", `${this.phone.path}/recording`);
    this.$(".record-status").textContent = recording.steps
      ? `Recording: ${recording.steps} step(s) on ${this.phone.view.msisdn}, ${this.phone.view.dialect}`
      : "Recording: dial to start (every dialogue is recorded).";
    this.$(".recorded").textContent = recording.yaml;
  }

  async refreshChoices(selected) {
    const { saved, shipped } = await api("GET", "/api/scripts");
    const select = this.$(".script-choice");
    select.replaceChildren();
    for (const [label, names, source] of [["saved", saved, "saved"], ["shipped", shipped, "shipped"]]) {
      if (!names.length) continue;
      const group = element("optgroup");
      group.label = label;
      for (const name of names) {
        const option = element("option", "", name);
        option.value = `${source}:${name}`;
        group.append(option);
      }
      select.append(group);
    }
    if (selected) select.value = selected;
  }

  async save() {
    const name = this.$(".script-name").value.trim();
    try {
      const saved = await api("POST", `${this.phone.path}/recording/save`, { name });
      this.$(".save-status").textContent = `Saved to ${saved.path}`;
      await this.refreshChoices(`saved:${saved.name}`);
    } catch (error) {
      this.$(".save-status").textContent = error.message;
    }
  }

  async restart() {
    await api("POST", `${this.phone.path}/recording/restart`);
    this.$(".save-status").textContent = "";
    await this.refreshRecording();
  }

  async loadChosen() {
    const [source, name] = this.$(".script-choice").value.split(/:(.*)/s);
    await this.load({ name, source });
  }

  async loadFile(input) {
    const file = input.files && input.files[0];
    if (!file) return;
    await this.load({ yaml: await file.text() });
    input.value = "";
  }

  async load(request) {
    const list = this.$(".replay-steps");
    list.replaceChildren();
    this.$(".verdict").textContent = "";
    try {
      const loaded = await api("POST", `${this.phone.path}/replay`, request);
      for (const step of loaded.steps) {
        const item = element("li", "replay-step-item pending");
        item.dataset.number = step.number;
        item.append(element("span", "step-text", step.step));
        list.append(item);
      }
      this.phone.show(loaded.phone);
      this.$(".verdict").textContent = `Loaded ${loaded.name}: ${loaded.steps.length} steps`;
      this.enable(true);
    } catch (error) {
      this.$(".verdict").textContent = error.message;
      this.enable(false);
    }
  }

  enable(on) {
    this.$(".replay-step").disabled = !on;
    this.$(".replay-all").disabled = !on;
  }

  async step() {
    let more = false;
    await this.phone.act(async () => {
      const { result, verdict, phone } = await api("POST", `${this.phone.path}/replay/step`);
      this.showResult(result, verdict);
      more = !verdict;
      return phone;
    });
    if (!more) this.enable(false);
    return more;
  }

  showResult(result, verdict) {
    const item = this.$(`.replay-step-item[data-number="${result.number}"]`);
    if (item) {
      item.className = `replay-step-item ${result.status}`;
      item.querySelector(".step-text").textContent = `${result.status.toUpperCase()} ${result.step}`;
      if (result.status === "fail") {
        item.append(element("div", "why", `expected ${result.expected}`));
        item.append(element("pre", "actual", result.actual));
      } else if (result.status === "error") {
        item.append(element("div", "why", result.message));
      }
    }
    if (verdict) {
      this.$(".verdict").textContent = verdict;
      this.$(".verdict").className = `verdict ${verdict.startsWith("PASS") ? "pass" : "fail"}`;
    }
  }

  async runAll() {
    this.phone.root.dataset.replaying = "true";
    while (await this.step()) {
      // One request per step: the page shows each result as it comes.
    }
    this.phone.root.dataset.replaying = "false";
  }
}
