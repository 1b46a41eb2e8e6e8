// Filters the portal's accounts and roles as you type (without it, the filter form does the
// same on the server, `GET /?q=`), and opens the only role at once when the person chose so.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // The person chose to open their only role at once: the form carries the CSRF token.
  const autostart = document.getElementById("autostart");
  if (autostart) autostart.requestSubmit(autostart.querySelector("button[name=then]"));
  const input = document.getElementById("filter");
  if (!input) return;
  const filter = () => {
    const needle = input.value.trim().toLowerCase();
    for (const account of document.querySelectorAll("li.account")) {
      const accountMatches = needle === "" || account.dataset.search.includes(needle);
      let shown = 0;
      for (const role of account.querySelectorAll("li.role")) {
        const match = accountMatches || role.dataset.search.includes(needle);
        role.hidden = !match;
        if (match) shown += 1;
      }
      account.hidden = shown === 0;
    }
  };
  input.addEventListener("input", filter);
});
