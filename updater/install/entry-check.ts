// The installer's tar-entry check: it lives in shared/release/ because the controller inspects uploads with it too.
export * from '../../shared/release/entry-check.js';
