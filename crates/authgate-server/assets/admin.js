// Copy buttons on the admin dashboard (the pages work without it).
document.addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-copy]');
  if (!b) return;
  const el = document.getElementById(b.dataset.copy);
  if (!el || !navigator.clipboard) return;
  let text = el.textContent;
  if (b.dataset.copy === 'www-authenticate') text = text.replace(/^WWW-Authenticate: /, '');
  navigator.clipboard.writeText(text).then(() => {
    const was = b.textContent;
    b.textContent = 'Copied';
    setTimeout(() => { b.textContent = was; }, 1500);
  });
});
