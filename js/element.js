// The <firststep-booking> element class. It only forwards the element's life
// to the Rust side: `mount(host)` renders the widget into the host's shadow
// root and returns a handle with `update()` and `destroy()`.
// Imported by firststep.js, and by the browser tests (tests/app.rs).
export function defineBookingElement(mount) {
  if (customElements.get('firststep-booking')) return;
  customElements.define('firststep-booking', class extends HTMLElement {
    static get observedAttributes() { return ['api', 'service', 'locale']; }
    connectedCallback() { if (!this.firststep) this.firststep = mount(this); }
    disconnectedCallback() { this.firststep?.destroy(); this.firststep = undefined; }
    attributeChangedCallback() { this.firststep?.update(); }
  });
}
