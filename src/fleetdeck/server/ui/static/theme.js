// Applies the saved colour theme before the page paints (no flash); "auto" follows the OS.
(function () {
  var t = localStorage.getItem("fleetdeck-theme");
  if (t === "light" || t === "dark") document.documentElement.dataset.theme = t;
})();
