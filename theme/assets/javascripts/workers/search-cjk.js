// The theme's search worker, told to index Chinese words too.
//
// Debian's mkdocs leaves out lunr's language files, so the search plugin only
// accepts lang: en, and English lunr trims every CJK character off a token:
// "粘包" was never in the index. This worker adds the theme's own lunr.ja
// (its segmenter and trimmer know CJK) beside English before the theme's
// worker builds the index: the setup message (type 0) is changed in place,
// because this listener is registered before the theme's own.
self.addEventListener("message", function (event) {
  var message = event.data;
  if (message && message.type === 0 && message.data && message.data.config) {
    var lang = message.data.config.lang;
    if (lang.indexOf("ja") < 0) {
      lang.push("ja");
    }
  }
});
importScripts("search.bd0b6b67.min.js");
