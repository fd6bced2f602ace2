// The page: one phone, or two side by side, and the mailbox.
import { api, element, clock } from "./api.js";
import { Phone } from "./phone.js";

const POLL_MS = 2000;
const phones = [];
let config = null;

async function addPhone(msisdn) {
  const template = document.getElementById("phone-template");
  const root = template.content.firstElementChild.cloneNode(true);
  root.id = `phone-${phones.length + 1}`;
  document.getElementById("phones").append(root);
  const phone = new Phone(root, config, msisdn, `Phone ${phones.length + 1}`);
  phones.push(phone);
  await phone.start();
  return phone;
}

async function refreshMailbox() {
  const found = await api("GET", "/api/mailbox");
  document.getElementById("mailbox-note").textContent = found.available ? "" : found.message;
  const list = document.getElementById("letters");
  list.replaceChildren();
  for (const letter of found.letters || []) {
    const item = element("li", "letter");
    item.append(element("div", "letter-meta", `#${letter.n} ${clock(letter.at)} · to ${letter.to} · from ${letter.from}`));
    item.append(element("div", "letter-subject", letter.subject));
    item.append(element("pre", "letter-text", letter.text));
    list.append(item);
  }
}

async function poll() {
  // The inboxes and the mailbox change without the page doing anything (the outbox worker
  // sends an alert after the reply): read them again every few seconds.
  if (!document.hidden) {
    await Promise.allSettled([refreshMailbox(), ...phones.map((p) => p.view && p.refreshInbox())]);
  }
  setTimeout(poll, POLL_MS);
}

async function main() {
  config = await api("GET", "/api/config");
  document.getElementById("gateway-url").textContent = config.gateway;
  const list = document.getElementById("demo-subscribers");
  for (const subscriber of config.subscribers) {
    const option = element("option");
    option.value = subscriber.msisdn;
    option.label = subscriber.label;
    list.append(option);
  }
  await addPhone(config.subscribers[0].msisdn);
  const two = document.getElementById("two-phones");
  two.addEventListener("change", async () => {
    if (two.checked && phones.length < 2) {
      await addPhone(config.subscribers[1].msisdn);
    }
    if (phones[1]) phones[1].root.hidden = !two.checked;
    document.getElementById("phones").classList.toggle("two", two.checked);
  });
  document.body.dataset.ready = "true";
  poll();
}

main();
