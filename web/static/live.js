// Follows a running job: new transcript lines arrive over Server-Sent
// Events (already rendered and redacted by herdbot); "end" reloads the page
// to show the final status.
(function () {
  var list = document.getElementById("events");
  if (!list || list.dataset.live !== "1") return;
  var last = +(list.dataset.after || 0);
  list.querySelectorAll("li[data-seq]").forEach(function (li) { last = Math.max(last, +li.dataset.seq); });
  var es = new EventSource("/jobs/" + encodeURIComponent(list.dataset.job) + "/events?after=" + last);
  es.addEventListener("ev", function (m) {
    var d = JSON.parse(m.data);
    if (d.seq <= last) return;
    last = d.seq;
    var t = document.createElement("template");
    t.innerHTML = d.html;
    list.appendChild(t.content);
  });
  es.addEventListener("end", function () { es.close(); location.reload(); });
})();
