/**
 * The header of every page: sends a person without a key to sign in, shows which key is in use,
 * and signs out (forgetting the key of this tab).
 * @module header
 */

import { clearKey, getKey, needsKey, request, signInUrl } from "./api.js";

const page = document.body.dataset.page;
const signOut = document.getElementById("sign-out");
const who = document.getElementById("who");

if (needsKey() && getKey() === null) {
  if (page !== "sign-in") location.replace(signInUrl());
} else if (needsKey()) {
  signOut.hidden = false;
  signOut.addEventListener("click", () => {
    clearKey();
    location.assign("/sign-in");
  });
  showKey();
}

/** Name the key in the header (`ci · starter`); a failure here is shown by the page's own calls. */
async function showKey() {
  try {
    const me = await request("GET", "/v1/me");
    who.textContent = `${me.name} (${me.tier})`;
    who.hidden = false;
  } catch {
    // the page's own requests show the error (or send the person to sign in)
  }
}
