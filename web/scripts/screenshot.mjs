// Signs in to a running web app with a demo password in the system's Chromium and saves
// screenshots of the sign-in page and the overview. Never downloads a browser.
//
//   CMGRAPH_WEB_URL=http://127.0.0.1:4173 CMGRAPH_EMAIL=owner@demo.cmgraph.test \
//   CMGRAPH_PASSWORD=... npm run screenshot
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const base = process.env.CMGRAPH_WEB_URL ?? "http://127.0.0.1:4173";
const email = process.env.CMGRAPH_EMAIL ?? "owner@demo.cmgraph.test";
const password = process.env.CMGRAPH_PASSWORD;
const out = process.env.CMGRAPH_SHOTS ?? "/tmp/web-shots";
if (!password) throw new Error("Set CMGRAPH_PASSWORD to a demo user's password.");

mkdirSync(out, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 1000 } });
  const sent = [];
  page.on("request", (request) => {
    if (request.url().endsWith("/graphql")) sent.push(request.postData() ?? "");
  });
  page.on("console", (message) => {
    console.log(`console.${message.type()}: ${message.text()}`);
  });

  // Signed out: the overview sends the browser to the sign-in page, remembering where it was.
  await page.goto(`${base}/`);
  await page.waitForURL(/\/sign-in/);
  console.log(`redirected to ${page.url()}`);

  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "Wrong email or password." }).waitFor();
  await page.screenshot({ path: `${out}/sign-in-refused.png` });

  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Key improvement actions" }).waitFor();
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${out}/dashboard.png`, fullPage: true });
  console.log(`signed in at ${page.url()}`);
  console.log(`first /graphql bodies:\n${sent.slice(0, 4).join("\n")}`);

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/sign-in/);
  console.log(`signed out to ${page.url()}`);
} finally {
  await browser.close();
}
