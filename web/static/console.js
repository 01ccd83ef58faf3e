// Progressive only: the console works without it. Refreshes the funnel panel every 5 s.
document.querySelectorAll("[data-refresh]").forEach(function (panel) {
  var url = panel.getAttribute("data-refresh");
  window.setInterval(function () {
    fetch(url, { credentials: "same-origin" }).then(function (answer) {
      if (answer.ok) return answer.text().then(function (html) { panel.innerHTML = html; });
    }).catch(function () {});
  }, 5000);
});
