// The <firststep-booking> element class. It only forwards the element's life
// to the Rust side: `mount(host)` renders the widget into the host's shadow
// root and returns a handle with `update()` and `destroy()`.
// Imported by firststep.js, and by the browser tests (tests/app.rs).
//
// A widget starts at once when the loader already asked for its data or the
// page says loading="eager"; otherwise when it comes within about one screen
// of view, so a widget at the foot of a long page costs nothing until then.
export function defineBookingElement(mount) {
  if (customElements.get('firststep-booking')) return;
  const start = (host) => {
    // Opened from a manage link (/book#manage=ID.TOKEN): the page's fragment
    // stands for the `manage` attribute. A fragment never reaches a server.
    if (!host.hasAttribute('manage') && location.hash.startsWith('#manage=')) {
      host.setAttribute('manage', location.hash.slice(8));
    }
    host.firststep ??= mount(host);
  };
  const nearView = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (entry.isIntersecting) { nearView.unobserve(entry.target); start(entry.target); }
    }
  }, { rootMargin: '100% 0px' });
  customElements.define('firststep-booking', class extends HTMLElement {
    static get observedAttributes() { return ['api', 'service', 'clinician', 'locale', 'manage']; }
    connectedCallback() {
      if (this.firststepEarly || this.getAttribute('loading') === 'eager') start(this);
      else nearView.observe(this);
    }
    disconnectedCallback() {
      nearView.unobserve(this);
      this.firststep?.destroy();
      this.firststep = undefined;
    }
    attributeChangedCallback() { this.firststep?.update(); }
  });
}
