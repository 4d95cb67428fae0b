// Progressive enhancement for the upload form: without JavaScript the file picker and button still work.
(() => {
  'use strict';
  const form = document.getElementById('upload');
  if (!form) return;
  const photo = document.getElementById('photo');
  const drop = document.getElementById('drop');
  const status = document.getElementById('status');
  const max = Number(form.dataset.max || 0);

  // Submitting a second photo while the first is being analysed would only queue it behind.
  let sending = false;
  const submit = (file) => {
    if (sending || !file) return;
    if (max && file.size > max) {
      status.textContent = status.dataset.tooBig;
      return;
    }
    sending = true;
    form.classList.add('busy');
    status.textContent = status.dataset.busy;
    form.submit();
  };

  // Drag-and-drop and paste put the file into the picker, so the form posts it like any chosen file.
  const useFile = (file) => {
    if (!file) return;
    const transfer = new DataTransfer();
    transfer.items.add(file);
    photo.files = transfer.files;
    submit(file);
  };

  form.querySelectorAll('input[type=file]').forEach((input) => {
    input.addEventListener('change', () => submit(input.files[0]));
  });
  ['dragenter', 'dragover'].forEach((name) => drop.addEventListener(name, (event) => {
    event.preventDefault();
    drop.classList.add('over');
  }));
  ['dragleave', 'drop'].forEach((name) => drop.addEventListener(name, (event) => {
    event.preventDefault();
    drop.classList.remove('over');
  }));
  drop.addEventListener('drop', (event) => useFile(event.dataTransfer.files[0]));
  document.addEventListener('paste', (event) => {
    for (const item of event.clipboardData ? event.clipboardData.items : []) {
      if (item.kind === 'file') {
        event.preventDefault();
        useFile(item.getAsFile());
        return;
      }
    }
  });
  // Coming back with the browser's back button restores the page from cache: make it usable again.
  window.addEventListener('pageshow', () => {
    sending = false;
    form.classList.remove('busy');
    status.textContent = '';
    form.reset();
  });
})();
