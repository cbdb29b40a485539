// A Live Photo's motion on its photo page: the muted movie plays in place
// of the still while the pointer rests on it, while it is pressed (touch),
// or once on the LIVE button, then the still comes back. Without script
// the button is a link to the movie.
(() => {
  'use strict';
  const video = document.querySelector('.stage video.live-motion');
  const btn = document.querySelector('.stage .live-btn');
  if (!video || !btn) return;
  const still = video.parentElement.querySelector('img.preview');

  function play() {
    if (!video.hidden) return;
    video.hidden = false;
    if (still) still.hidden = true;
    video.currentTime = 0;
    video.play().catch(stop); // a movie that cannot play leaves the still
  }
  function stop() {
    video.pause();
    video.hidden = true;
    if (still) still.hidden = false;
  }
  video.addEventListener('ended', stop);
  btn.addEventListener('click', (e) => { e.preventDefault(); play(); });
  if (still) {
    still.addEventListener('pointerenter', (e) => { if (e.pointerType === 'mouse') play(); });
    still.addEventListener('touchstart', play, { passive: true });
  }
  video.addEventListener('pointerleave', (e) => { if (e.pointerType === 'mouse') stop(); });
  video.addEventListener('touchend', stop);
  video.addEventListener('touchcancel', stop);
})();
