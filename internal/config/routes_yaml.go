package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Turning the YAML library's errors into one line naming the file, the
// line and the key, and finding keys and lines in the parsed node tree.

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// syntaxError turns a YAML syntax error into one line.
func syntaxError(file string, err error) error {
	msg := firstLine(err.Error())
	line := 1
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	return routesError(file, line, "yaml", "is not valid YAML: "+msg)
}

var (
	unknownFieldRE = regexp.MustCompile(`^field (\S+) not found in type`)
	unmarshalRE    = regexp.MustCompile(`^cannot unmarshal (!!\w+)(?: .*)? into (\S+)`)
)

// typeError turns the first error of a strict decode (unknown key, wrong
// type) into one line naming the key.
func typeError(file string, root *yaml.Node, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) || len(te.Errors) == 0 {
		return syntaxError(file, err)
	}
	m := yamlLineRE.FindStringSubmatch(firstLine(te.Errors[0]))
	if m == nil {
		return routesError(file, 1, "yaml", firstLine(te.Errors[0]))
	}
	line, _ := strconv.Atoi(m[1])
	msg := m[2]
	if u := unknownFieldRE.FindStringSubmatch(msg); u != nil {
		known := routeKeys
		switch {
		case strings.Contains(msg, "rawMatch"):
			known = "categories, words"
		case strings.Contains(msg, "rawRoutes"):
			known = "routes"
		}
		return routesError(file, line, u[1], "unknown key (known keys: "+known+")")
	}
	key := keyAt(root, line)
	if u := unmarshalRE.FindStringSubmatch(msg); u != nil {
		return routesError(file, line, key, fmt.Sprintf("has a %s where %s is expected", kindName(u[1]), typeName(u[2])))
	}
	return routesError(file, line, key, msg)
}

func kindName(tag string) string {
	switch tag {
	case "!!map":
		return "mapping"
	case "!!seq":
		return "list"
	case "!!str":
		return "string"
	case "!!int", "!!float":
		return "number"
	case "!!bool":
		return "true/false"
	}
	return strings.TrimPrefix(tag, "!!") + " value"
}

func typeName(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case goType == "bool":
		return "true or false"
	case goType == "string":
		return "a single value"
	default:
		return "a mapping"
	}
}

func firstLine(s string) string {
	s = strings.TrimPrefix(s, "yaml: unmarshal errors:\n")
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// routeNodes returns the mapping nodes of the routes list.
func routeNodes(root *yaml.Node) []*yaml.Node {
	v := valueOf(document(root), "routes")
	if v == nil || v.Kind != yaml.SequenceNode {
		return nil
	}
	return v.Content
}

func document(root *yaml.Node) *yaml.Node {
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		return root.Content[0]
	}
	return root
}

// valueOf returns the value of key in mapping m, or nil.
func valueOf(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func keyLine(root *yaml.Node, key string) int {
	m := document(root)
	if m == nil || m.Kind != yaml.MappingNode {
		return 0
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line
		}
	}
	return 0
}

// keyAt returns the key of the innermost mapping entry whose key or value
// is on line, or "routes" when there is none.
func keyAt(n *yaml.Node, line int) string {
	found := "routes"
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Line == line || n.Content[i+1].Line == line {
					found = n.Content[i].Value
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return found
}
