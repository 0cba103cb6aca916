// The kiosk goes back to its start screen after data-idle-seconds without a touch, so the next visitor
// starts afresh. The page gives its start address and the delay on this script's element.
(function () {
  var script = document.currentScript;
  var home = script.dataset.home, wait = Number(script.dataset.idleSeconds) * 1000, timer;
  function arm() { clearTimeout(timer); timer = setTimeout(function () { location.replace(home); }, wait); }
  ["pointerdown", "keydown", "input", "touchstart"].forEach(function (name) { document.addEventListener(name, arm, true); });
  arm();
})();
