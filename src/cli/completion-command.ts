// `pullfix completion bash|zsh|fish`: shell completion read from the commander program itself,
// so it cannot drift from the real commands and flags. The scripts are thin: at each TAB they run
// `pullfix __complete WORDS...`, which walks the program tree and answers as cobra programs do
// (candidates one a line, then `:DIRECTIVE`). kubectl (1.26 and later) asks a plugin the same
// question through an executable `kubectl_complete-pullfix` on PATH (kubectl-complete-pullfix.ts),
// so `kubectl pullfix <TAB>` gets the same answers.
import { Argument, type Command, type Option } from 'commander';

/** cobra's ShellCompDirective bits, which kubectl reads from a plugin's answer. */
export const DIRECTIVE = { default: 0, error: 1, noSpace: 2, noFileComp: 4 } as const;

export interface Completion {
  candidates: string[];
  directive: number;
}

/** Values to offer for an option whose parser checks them itself (no commander choices). */
const extraValues = new WeakMap<Option, readonly string[]>();

/** Marks `option` as taking one of `values`, for completion only; returns it. */
export function completeValues(option: Option, values: readonly string[]): Option {
  extraValues.set(option, values);
  return option;
}

/** The same for an option registered elsewhere: fails at start-up if the command or flag is gone. */
export function completeValuesOf(program: Command, command: string, flag: string, values: readonly string[]): void {
  const option = program.commands.find((c) => c.name() === command)?.options.find((o) => o.long === flag);
  if (!option) throw new Error(`completion: ${command} ${flag} is not an option of the program`);
  completeValues(option, values);
}

function valuesOf(option: Option): readonly string[] | undefined {
  return option.argChoices ?? extraValues.get(option);
}

/** A value that names a file: `<file>`, `[config-file]`, `<files...>`. */
const FILE_VALUE = /[<[](?:[a-z-]*-)?files?(?:\.\.\.)?[>\]]/;

function takesFile(option: Option): boolean {
  return FILE_VALUE.test(option.flags);
}

function commandTakesFiles(command: Command): boolean {
  return command.registeredArguments.some((a) => /file/.test(a.name()));
}

function visibleCommands(command: Command): Command[] {
  return command.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden);
}

/** The options a user can type at this command: its own, and help (version at the top). */
function optionsOf(command: Command): Option[] {
  const help = (command as unknown as { _getHelpOption(): Option | null })._getHelpOption();
  return [...command.options.filter((o) => !o.hidden), ...(help ? [help] : [])];
}

function findOption(command: Command, word: string): Option | undefined {
  return optionsOf(command).find((o) => o.long === word || o.short === word);
}

const startsWith = (prefix: string) => (s: string) => s.startsWith(prefix);

/**
 * What can follow `words` (the words after the program's name; the last is the one being
 * completed, possibly empty).
 */
export function complete(program: Command, words: readonly string[]): Completion {
  let command = program;
  const typed = words.slice(0, -1);
  const current = words[words.length - 1] ?? '';
  let pending: Option | undefined;
  let positionals = 0;
  for (const word of typed) {
    if (pending) {
      pending = undefined;
      continue;
    }
    if (word.startsWith('-')) {
      const option = word.includes('=') ? undefined : findOption(command, word);
      // A value in the next word only for a value the option requires: `--dry-run` takes
      // its optional value as kubectl does, `--dry-run=server`.
      if (option?.required) pending = option;
      continue;
    }
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub) {
      command = sub;
      positionals = 0;
    } else {
      positionals++;
    }
  }

  if (pending) {
    const values = valuesOf(pending);
    if (values) return { candidates: values.filter(startsWith(current)), directive: DIRECTIVE.noFileComp };
    return { candidates: [], directive: takesFile(pending) ? DIRECTIVE.default : DIRECTIVE.noFileComp };
  }
  const eq = current.indexOf('=');
  if (current.startsWith('--') && eq > 0) {
    const option = findOption(command, current.slice(0, eq));
    const values = option ? valuesOf(option) : undefined;
    const flag = current.slice(0, eq + 1);
    if (values) return { candidates: values.map((v) => flag + v).filter(startsWith(current)), directive: DIRECTIVE.noFileComp };
    return { candidates: [], directive: option && takesFile(option) ? DIRECTIVE.default : DIRECTIVE.noFileComp };
  }
  if (current.startsWith('-')) {
    const flags = optionsOf(command).flatMap((o) => [o.long, o.short]).filter((f): f is string => f !== undefined);
    return { candidates: flags.filter(startsWith(current)), directive: DIRECTIVE.noFileComp };
  }
  const argument = command.registeredArguments[Math.min(positionals, command.registeredArguments.length - 1)];
  const names = [...visibleCommands(command).map((c) => c.name()), ...(argument?.argChoices ?? [])].filter(startsWith(current));
  if (argument?.argChoices) return { candidates: names, directive: DIRECTIVE.noFileComp };
  return { candidates: names, directive: commandTakesFiles(command) ? DIRECTIVE.default : DIRECTIVE.noFileComp };
}

/** cobra's answer: candidates one a line, then `:DIRECTIVE`. */
export function formatCompletion(c: Completion): string {
  return [...c.candidates, `:${c.directive}`].map((l) => `${l}\n`).join('');
}

const BASH = `# bash completion for pullfix: source <(pullfix completion bash)
_pullfix() {
    # The words as typed: bash splits \`--dry-run=server\` at the \`=\` (COMP_WORDBREAKS); join it again.
    local -a words=()
    local i w cword=0
    for (( i = 0; i < \${#COMP_WORDS[@]}; i++ )); do
        w=\${COMP_WORDS[i]}
        if (( \${#words[@]} > 0 )) && [[ $w == = && \${words[-1]} == --* || \${words[-1]} == --*= && \${COMP_WORDS[i-1]} == = ]]; then
            words[-1]+=$w
        else
            words+=("$w")
        fi
        (( i == COMP_CWORD )) && cword=$(( \${#words[@]} - 1 ))
    done
    local cur=\${words[cword]}
    local out directive line
    out=$("\${words[0]}" __complete "\${words[@]:1:cword-1}" "$cur" 2>/dev/null) || return
    directive=\${out##*:}
    out=\${out%:*}
    COMPREPLY=()
    while IFS= read -r line; do
        [[ -n $line ]] && COMPREPLY+=("$line")
    done <<< "$out"
    if (( \${#COMPREPLY[@]} == 0 && (directive & 4) == 0 )); then
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
    # bash replaces only what follows the \`=\` it split off.
    if [[ $cur == *=* && \${COMP_WORDS[COMP_CWORD]} != "$cur" ]]; then
        for i in "\${!COMPREPLY[@]}"; do COMPREPLY[i]=\${COMPREPLY[i]#*=}; done
    fi
}
complete -o default -F _pullfix pullfix
`;

const ZSH = `#compdef pullfix
# zsh completion for pullfix: source <(pullfix completion zsh), or save as _pullfix in $fpath
_pullfix() {
    local -a lines candidates
    local out directive
    out=$("\${words[1]}" __complete "\${(@)words[2,CURRENT-1]}" "\${words[CURRENT]}" 2>/dev/null) || return 1
    lines=("\${(@f)out}")
    directive=\${lines[-1]#:}
    candidates=("\${(@)lines[1,-2]}")
    if (( \${#candidates} > 0 )); then
        compadd -Q -- "\${(@)candidates}"
    elif (( (directive & 4) == 0 )); then
        _files
    fi
}
if [[ \${zsh_eval_context[-1]} == loadautofunc ]]; then
    _pullfix "$@"
else
    compdef _pullfix pullfix
fi
`;

const FISH = `# fish completion for pullfix: pullfix completion fish | source
function __pullfix_complete
    set -l args (commandline -opc)
    set -l out (command $args[1] __complete $args[2..-1] (commandline -ct) 2>/dev/null)
    or return
    set -l directive (string replace -r '^:' '' -- $out[-1])
    set -e out[-1]
    if test (count $out) -gt 0
        printf '%s\\n' $out
    else if test (math "bitand($directive, 4)") -eq 0
        __fish_complete_path (commandline -ct)
    end
end
complete -c pullfix -f -a '(__pullfix_complete)'
`;

export const SHELLS = { bash: BASH, zsh: ZSH, fish: FISH } as const;

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description(
      'Print a shell completion script: source <(pullfix completion bash), source <(pullfix completion zsh), ' +
        'pullfix completion fish | source. kubectl pullfix completes through kubectl_complete-pullfix on PATH.',
    )
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(Object.keys(SHELLS)))
    .action((shell: keyof typeof SHELLS) => {
      process.stdout.write(SHELLS[shell]);
    });
}
