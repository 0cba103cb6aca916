// A report being made: its page reloads itself every data-seconds (the progress bar and status come fresh);
// once the report is done the page no longer loads this script. No inline script: the CSP forbids it.
(function () {
  var seconds = Number(document.currentScript.dataset.seconds) || 2;
  setTimeout(function () { location.reload(); }, seconds * 1000);
})();
