package related

// What the external tests (package related_test: the quality harness, which
// imports the SQLite store, itself importing packages that import this one)
// need from the package's test files.

type CorpusPost = corpusPost

var (
	LoadCorpus           = loadCorpus
	CorpusURLs           = corpusURLs
	WithoutCorpusAnchors = withoutCorpusAnchors
	StopWords            = stopWords
)
