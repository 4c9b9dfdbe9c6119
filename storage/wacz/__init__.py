"""Writing WACZ packages (WACZ 1.1.1): our WARCs, their CDXJ index and the article pages in one
zip that ReplayWeb.page, pywb and py-wacz open. Reading WACZ files is storage.imports.wacz."""
