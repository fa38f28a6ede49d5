// Placeholder so the package resolves on branch cf before the catalog tests land from main; delete on merge.
